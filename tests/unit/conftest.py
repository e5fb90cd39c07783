"""Fixtures of the unit tier: fake inputs built from ``tests/helpers``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar

import solo_tase.data.cifar as cifar
from solo_tase.data.cifar import CifarArrays
from tests.helpers.fake_runs import write_manifest
from tests.helpers.images import CIFAR10_NAMES, cifar_arrays, write_fake_cifar10
from tests.helpers.zoo_runs import (
    CKPT_NAME,
    MANIFEST_NAME,
    args_json,
    lightning_checkpoint,
    solo_backbone,
    write_metrics,
)


@pytest.fixture
def without_solo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evaluation builds torchvision's backbones, as where solo-learn is not installed."""
    monkeypatch.setattr("solo_tase.eval.checkpoint.solo_available", lambda: False)


@pytest.fixture
def fake_cifar10_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root ``tmp_path/cifar`` with a tiny CIFAR-10 for torchvision: 50 train images
    (label = position % 10) and 2 test images per class; torchvision's MD5 check is bypassed."""
    root = write_fake_cifar10(tmp_path / "cifar", np.tile(np.arange(10), 5), test_per_class=2)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    return root


@pytest.fixture
def fake_cifar_arrays(monkeypatch: pytest.MonkeyPatch) -> dict[bool, CifarArrays]:
    """``solo_tase.data.cifar.load_cifar`` returns a 10-class set of 30 train / 2 test random
    images per class (``train`` -> arrays)."""
    splits = {True: cifar_arrays(30, seed=0), False: cifar_arrays(2, seed=1)}

    def load(dataset: str, root: str, train: bool = True, download: bool = False) -> CifarArrays:
        return splits[train]

    monkeypatch.setattr(cifar, "load_cifar", load)
    return splits


@pytest.fixture(scope="session")
def checkpoint_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zoo run's ResNet-18 checkpoint (45 MB), built once per session."""
    path = tmp_path_factory.mktemp("zoo-ckpt") / CKPT_NAME
    torch.manual_seed(0)
    torch.save(lightning_checkpoint(solo_backbone()), path)
    return path


@pytest.fixture
def run_dir(checkpoint_template: Path, tmp_path: Path) -> Path:
    """The zoo's run folder ``tmp_path/run``: args.json, the checkpoint and metrics.json, with
    the Digits-LT-style manifest in ``tmp_path/data`` (``data.train_path`` is
    ``tmp_path/data/train``)."""
    (tmp_path / "data").mkdir()
    counts = [100, 77, 60, 46, 36, 28, 21, 16, 13, 10]
    write_manifest(tmp_path / "data", [str(i) for i in range(10)], counts, name=MANIFEST_NAME)
    run = tmp_path / "run"
    run.mkdir()
    (run / "args.json").write_text(json.dumps(args_json(tmp_path / "data" / "train")))
    shutil.copyfile(checkpoint_template, run / CKPT_NAME)
    write_metrics(run / "metrics.json", run)
    return run


@pytest.fixture
def cifar10_lt_manifest(tmp_path: Path) -> Path:
    """``tmp_path/manifest.json``: a CIFAR-10-LT manifest (50 down to 2 images a class) that
    names the groups of ``fake_cifar10_files``'s classes."""
    counts = [50, 35, 25, 17, 12, 8, 6, 4, 3, 2]
    return write_manifest(tmp_path / "manifest.json", CIFAR10_NAMES, counts)
