"""Probe/test sets: ImageFolder identity and empty classes; CIFAR through torchvision (a fake)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from solo_tase.eval.datasets import open_set
from tests.helpers.images import CIFAR10_NAMES, write_image_folder


def test_image_folder_identity_and_cache_key(tmp_path):
    root = write_image_folder(tmp_path / "probe", [3, 2], ["0", "1"])
    a = open_set(str(root), role="probe", data_root=None, transform=None)
    assert a.classes == ["0", "1"] and a.targets.tolist() == [0, 0, 0, 1, 1]
    b = open_set(str(root), role="probe", data_root=None, transform=None)
    assert (a.identity, a.cache_key) == (b.identity, b.cache_key)
    first = next(root.rglob("*.png"))
    os.utime(first, ns=(1, 1))  # same bytes, touched: same identity, new cache key
    c = open_set(str(root), role="probe", data_root=None, transform=None)
    assert c.identity == a.identity and c.cache_key != a.cache_key
    first.write_bytes(first.read_bytes() + b"x")
    assert open_set(str(root), role="probe", data_root=None, transform=None).identity != a.identity


def test_empty_class_folder_is_named(tmp_path):
    root = write_image_folder(tmp_path / "probe", [3, 2], ["0", "1"])
    (root / "2").mkdir()
    with pytest.raises(ValueError, match=r"probe set .* has no images of class\(es\) \['2'\]"):
        open_set(str(root), role="probe", data_root=None, transform=None)


def test_unknown_set_and_missing_cifar(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a folder nor one of"):
        open_set(str(tmp_path / "nope"), role="test", data_root=None, transform=None)
    with pytest.raises(ValueError, match="cifar10 needs --data-root"):
        open_set("cifar10", role="test", data_root=None, transform=None)
    with pytest.raises(FileNotFoundError, match="cifar100 not found under .*download=True"):
        open_set("cifar100", role="test", data_root=tmp_path, transform=None)


def test_fake_cifar_train_and_test_splits(fake_cifar10_files):
    probe = open_set("cifar10", role="probe", data_root=fake_cifar10_files, transform=None)
    test = open_set("cifar10", role="test", data_root=fake_cifar10_files, transform=None)
    assert probe.classes == CIFAR10_NAMES == test.classes
    assert np.bincount(probe.targets).tolist() == [5] * 10
    assert np.bincount(test.targets).tolist() == [2] * 10
    assert probe.description.startswith("cifar10:train@") and probe.identity != test.identity
