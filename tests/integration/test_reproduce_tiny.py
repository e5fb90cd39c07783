"""The CIFAR-10-LT reproduction recipe end to end on tiny synthetic data: a fake CIFAR-10 in
torchvision's format, synthetic split files at the sdclr preset's paths, and a
``sitecustomize`` that relaxes torchvision's MD5 check to "file exists" in every process the
recipe starts (fake files cannot match CIFAR's MD5 sums)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.images import write_fake_cifar10
from tests.helpers.paths import REPO
from tests.helpers.solo_runs import ONE_CPU, TINY

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each test starts solo-learn runs

SITECUSTOMIZE = """import os
import torchvision.datasets.cifar as _cifar
_cifar.check_integrity = lambda fpath, md5=None: os.path.isfile(fpath)
"""


def synthetic_splits(root: Path, labels: np.ndarray) -> Path:
    """SDCLR-style files for the fake CIFAR-10, at the sdclr preset's paths: a long-tailed D_i
    (20, 18, ..., 2 per class), a 10-per-class probe pool, a 5-per-class held-out set and a
    3-per-class few-shot S_b inside the pool."""
    per_class = [np.flatnonzero(labels == c) for c in range(10)]
    files = {
        "sdclr/cifar10_imbSub_with_subsets/split1_D_i.npy": np.concatenate(
            [m[: max(2, 20 - 2 * c)] for c, m in enumerate(per_class)]
        ),
        "sdclr/cifar10/trainIdxList.npy": np.concatenate([m[:10] for m in per_class]),
        "sdclr/cifar10/valIdxList.npy": np.concatenate([m[10:15] for m in per_class]),
        "sdclr/cifar10_imbSub_with_subsets/split1_S_b.npy": np.concatenate(
            [m[:3] for m in per_class]
        ),
    }
    for name, idx in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / name, np.sort(idx))
    return root


def test_cifar10_lt_recipe_runs_end_to_end(solo_learn_dir: Path, tmp_path: Path):
    """The sdclr preset (the default for cifar10-lt) on one D_i split: pre-training with the split
    file in place, the SGD probe (full-shot and 1%), the table over splits and the zoo."""
    data = tmp_path / "cifar"
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(10), 100))
    write_fake_cifar10(data, labels, test_per_class=3)
    splits = synthetic_splits(tmp_path / "splits", labels)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    out = tmp_path / "out"
    overrides = [
        *TINY,
        *ONE_CPU,
        "max_epochs=1",
        "data.long_tail.download=false",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook), str(REPO)]),
        "SOLO_LEARN_DIR": str(solo_learn_dir),
        "PYTHONWARNINGS": "ignore",
    }
    cmd = [
        sys.executable,
        str(REPO / "scripts/reproduce/reproduce.py"),
        "cifar10-lt",
        "--data-root",
        str(data),
        "--out",
        str(out),
        "--splits",
        str(splits),
        "--pretrain-splits",
        "1",
        "--methods",
        "simclr",
        "tase",
        "--set",
        *overrides,
        "--eval-options",
        "--num-workers 0 --device cpu",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.startswith("# preset sdclr: ")
    for method in ("simclr", "tase"):
        args = json.loads(
            next((out / "pretrain" / "split1" / method).glob("*/*/args.json")).read_text()
        )
        assert args["data"]["long_tail"]["num_samples"] == sum(
            max(2, 20 - 2 * c) for c in range(10)
        )
        assert args["optimizer"]["weight_decay"] == 1e-4
        for setting, images in (("full-shot", 100), ("1pct", 30)):
            metrics = json.loads(
                (out / "eval" / setting / method / "split1" / "metrics.json").read_text()
            )
            assert metrics["method"] == method and metrics["protocol"]["preset"] == "sdclr"
            assert metrics["runs"][0]["probe_images"] == images
            assert metrics["runs"][0]["best_epoch"] >= 1
        cards = list((out / "zoo").glob(f"*/{method}/*/card.yaml"))
        assert len(cards) == 1
    # each setting ends in one table over the splits, one row per method
    table = proc.stdout.split("# results (sdclr preset, 1%)")[1]
    assert "mean ± std over 1 pre-training split(s)" in table
    assert table.count("| simclr | 1 |") == 1 and table.count("| tase | 1 |") == 1
    # a second invocation skips what is done
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and again.stdout.count("already done, skipped") == 6
