"""The CIFAR-10-LT reproduction recipe end to end on tiny synthetic data (a fake CIFAR-10 in
torchvision's format; a ``sitecustomize`` relaxes torchvision's MD5 check to "file exists" in
every process the recipe starts, since fake files cannot match CIFAR's MD5 sums)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, TINY
from tests.integration.test_long_tail_inplace import write_fake_cifar10

pytestmark = pytest.mark.integration

SITECUSTOMIZE = '''import os
import torchvision.datasets.cifar as _cifar
_cifar.check_integrity = lambda fpath, md5=None: os.path.isfile(fpath)
'''


def test_cifar10_lt_recipe_runs_end_to_end(solo_learn_dir: Path, tmp_path: Path):
    data = tmp_path / "cifar"
    write_fake_cifar10(data, per_class=100, test_per_class=3, seed=0)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    out = tmp_path / "out"
    overrides = [*TINY, "max_epochs=1", "accelerator=cpu", 'devices="1"', "strategy=auto",
                 "precision=32", "sync_batchnorm=False", "+limit_val_batches=1",
                 "data.long_tail.download=false"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(REPO)]),
           "SOLO_LEARN_DIR": str(solo_learn_dir), "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, str(REPO / "scripts/reproduce/reproduce.py"), "cifar10-lt",
           "--data-root", str(data), "--out", str(out), "--methods", "simclr", "tase",
           "--set", *overrides, "--eval-options", "--epochs 5 --num-workers 0"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for method in ("simclr", "tase"):
        for protocol in ("full-shot", "few-shot-1pct"):
            metrics = json.loads((out / "eval" / protocol / method / "metrics.json").read_text())
            assert metrics["method"] == method
            assert metrics["inputs"]["manifest_checksum"]  # groups from the run's long-tail manifest
        cards = list((out / "zoo").glob(f"*/{method}/*/card.yaml"))
        assert len(cards) == 1
    # each eval prints its row, then each of the two comparison tables prints every method
    tables = proc.stdout.split("# comparison table (full-shot)")[1]
    assert tables.count("| simclr |") == 2 and tables.count("| tase |") == 2
    # a second invocation skips what is done
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and again.stdout.count("already done, skipped") == 6
