"""``data.long_tail`` end to end: solo-learn's real main_pretrain.py on a tiny fake CIFAR-10.

The fake CIFAR-10 has torchvision's on-disk format (pickled batches) with synthetic images and
random labels; a small wrapper runs main_pretrain.py with torchvision's MD5 check relaxed to "the
file exists" (the fake files cannot match the real CIFAR's MD5 sums). Nothing else is patched: the
plugin's Hydra callback installs the long-tailed CIFAR10 exactly as on a real run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from solo_tase.data.cifar import CifarLTSpec
from solo_tase.data.manifest import Manifest
from tests.helpers.images import write_fake_cifar10
from tests.helpers.paths import PRETRAIN_CONFIGS
from tests.helpers.solo_runs import ONE_CPU, TINY, checkpoint_parts, single_run_folder

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each test starts solo-learn runs

PER_CLASS, RATIO = 40, 10.0
# int(n_max * (1/r)^(i/(C-1))), the reference implementations' formula
COUNTS = [int(PER_CLASS * (1.0 / RATIO) ** (i / 9.0)) for i in range(10)]

WRAPPER = '''"""main_pretrain.py on fake CIFAR files: the MD5 check becomes "file exists"."""
import os
import runpy
import sys

import torchvision.datasets.cifar as cifar

cifar.check_integrity = lambda fpath, md5=None: os.path.isfile(fpath)
sys.argv[0] = os.path.abspath("main_pretrain.py")
runpy.run_path(sys.argv[0], run_name="__main__")
'''


@pytest.fixture(scope="module")
def fake_cifar(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, Path]:
    root = tmp_path_factory.mktemp("cifar")
    labels = np.random.default_rng(3).permutation(np.repeat(np.arange(10), PER_CLASS))
    write_fake_cifar10(root, labels, test_per_class=2)
    wrapper = root / "fake_cifar_main_pretrain.py"
    wrapper.write_text(WRAPPER)
    return root, labels, wrapper


def overrides(root: Path, ratio: float = RATIO) -> list[str]:
    return [
        *TINY,
        *ONE_CPU,
        "max_epochs=2",
        f"data.train_path={root}",
        f"data.val_path={root}",
        f"data.long_tail.ratio={ratio}",
        "data.long_tail.download=false",
    ]


def test_tase_trains_on_exactly_the_long_tailed_subset(run_solo, fake_cifar, tmp_path: Path):
    root, labels, wrapper = fake_cifar
    # one estimate, at the start of epoch 1: the default clean pass writes every row of the bank
    args = overrides(root) + ["method_kwargs.warmup_epochs=1"]
    run_solo(str(wrapper), PRETRAIN_CONFIGS / "cifar10-lt", "tase.yaml", args, tmp_path)
    n_lt = sum(COUNTS)
    expected = CifarLTSpec(dataset="cifar10", ratio=RATIO, seed=0)
    selection = expected.select(labels)
    assert selection.counts == COUNTS

    folder = single_run_folder(tmp_path, "tase")
    recorded = json.loads((folder / "args.json").read_text())["data"]["long_tail"]
    assert recorded["num_samples"] == n_lt
    assert recorded["name"] == "cifar10-lt-r10-s0"
    manifest = Manifest.load(recorded["manifest"])
    assert Path(recorded["manifest"]) == root / "long_tail" / "cifar10-lt-r10-s0.json"
    assert manifest.counts == COUNTS and manifest.index_checksum == recorded["checksum"]
    assert recorded["checksum"] == expected.manifest_for(selection, [""] * 10).index_checksum

    state = checkpoint_parts(folder, 1)["tase"]["state"]
    assert state["num_samples"] == n_lt
    # Sample i of the long-tailed set has the i-th label of the class-major order: the clean pass
    # re-read exactly the long-tailed subset, and every row carries the label of that sample.
    class_major = np.repeat(np.arange(10), COUNTS)
    assert (state["bank"]["epoch_seen"].numpy() == 1).all()
    assert np.array_equal(state["bank"]["targets"].numpy(), class_major)


def test_bad_long_tail_block_stops_the_run_naming_the_key(run_solo, fake_cifar, tmp_path: Path):
    root, _, wrapper = fake_cifar
    proc = run_solo(
        str(wrapper),
        PRETRAIN_CONFIGS / "cifar10-lt",
        "simclr.yaml",
        overrides(root, ratio=0.5),
        tmp_path,
        check=False,
    )
    assert proc.returncode != 0
    assert "data.long_tail.ratio must be set to the imbalance ratio" in proc.stderr + proc.stdout
    assert not (tmp_path / "simclr").exists()
