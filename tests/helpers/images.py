"""Fake images: single PNG files, ImageFolders, CIFAR arrays and CIFAR-10 in torchvision's
on-disk layout."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from solo_tase.data.cifar import CifarArrays
from solo_tase.data.writer import write_png_split

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


def png(path: Path, value: int = 0) -> None:
    """A 4x4 RGB PNG of one grey level at ``path`` (its folders are created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(path)


def class_images(labels: np.ndarray, seed: int, size: int = 32) -> np.ndarray:
    """uint8 RGB images [N, size, size, 3]: a class-dependent grey level plus noise."""
    rng = np.random.default_rng(seed)
    base = (labels * 23 + 20)[:, None, None, None]
    noise = rng.integers(-10, 10, (len(labels), size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_image_folder(root: Path, per_class: list[int], names: list[str], seed: int = 0) -> Path:
    """An ImageFolder of ``class_images``, ``per_class[i]`` PNGs in class ``names[i]``."""
    labels = np.repeat(np.arange(len(per_class)), per_class)
    ids = np.arange(len(labels)) + 1000 * seed
    write_png_split(root, class_images(labels, seed), labels, ids, names)
    return root


def cifar_arrays(per_class: int, seed: int, shuffle: bool = True) -> CifarArrays:
    """What ``load_cifar`` returns, for 10 classes ``c0`` ... ``c9``: ``per_class`` random images
    of each, in a seeded random order (class by class without ``shuffle``)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), per_class)
    if shuffle:
        labels = rng.permutation(labels)
    images = rng.integers(0, 256, (labels.size, 32, 32, 3), dtype=np.uint8)
    return CifarArrays(images=images, labels=labels, classes=[f"c{i}" for i in range(10)])


def write_fake_cifar10(root: Path, train_labels: np.ndarray, test_per_class: int) -> Path:
    """CIFAR-10 in torchvision's ``cifar-10-batches-py`` layout under ``root``: the train labels
    in order over the five train batches, ``test_per_class`` test images of each class, images
    from ``class_images``. torchvision's MD5 check fails on these files: relax it to run."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = [
        (f"data_batch_{k}", part) for k, part in enumerate(np.array_split(train_labels, 5), 1)
    ]
    batches.append(("test_batch", np.repeat(np.arange(10), test_per_class)))
    for seed, (name, labels) in enumerate(batches):
        data = class_images(labels, seed).transpose(0, 3, 1, 2).reshape(len(labels), -1)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels.tolist()}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR10_NAMES}, f)
    return root
