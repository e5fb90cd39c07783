"""Probe/test sets: ImageFolder identity and empty classes; CIFAR through torchvision (a fake).

``write_image_folder`` / ``write_fake_cifar`` are shared with test_eval_cli.py.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torchvision.datasets.cifar

from solo_tase.data.writer import write_png_split
from solo_tase.eval.datasets import open_set

CIFAR10_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def class_images(labels: np.ndarray, seed: int, size: int = 32) -> np.ndarray:
    """uint8 RGB images [N, size, size, 3]: a class-dependent grey level plus noise."""
    rng = np.random.default_rng(seed)
    base = (labels * 23 + 20)[:, None, None, None]
    noise = rng.integers(-10, 10, (len(labels), size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_image_folder(root: Path, per_class: list[int], names: list[str], seed: int = 0) -> Path:
    labels = np.repeat(np.arange(len(per_class)), per_class)
    ids = np.arange(len(labels)) + 1000 * seed
    write_png_split(root, class_images(labels, seed), labels, ids, names)
    return root


def write_fake_cifar(
    root: Path, monkeypatch: pytest.MonkeyPatch, per_batch: int = 1, test_per_class: int = 2
) -> Path:
    """A tiny CIFAR-10 in torchvision's pickle layout (5 train batches of ``per_batch`` images
    per class); torchvision's MD5 check is bypassed for it."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [
        ("test_batch", test_per_class)
    ]
    for i, (name, n) in enumerate(batches):
        labels = np.repeat(np.arange(10), n)
        data = class_images(labels, seed=i).transpose(0, 3, 1, 2).reshape(len(labels), -1)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels.tolist()}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR10_NAMES}, f)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    return root


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


def test_fake_cifar_train_and_test_splits(tmp_path, monkeypatch):
    root = write_fake_cifar(tmp_path, monkeypatch)
    probe = open_set("cifar10", role="probe", data_root=root, transform=None)
    test = open_set("cifar10", role="test", data_root=root, transform=None)
    assert probe.classes == CIFAR10_NAMES == test.classes
    assert np.bincount(probe.targets).tolist() == [5] * 10
    assert np.bincount(test.targets).tolist() == [2] * 10
    assert probe.description.startswith("cifar10:train@") and probe.identity != test.identity
