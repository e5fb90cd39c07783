"""Probe-training and test sets: ImageFolder folders, or CIFAR through torchvision.

A set is named by a folder (``<root>/probe``, ``<root>/test``) or by ``cifar10`` / ``cifar100``
with ``--data-root`` (the torchvision root holding ``cifar-10-batches-py``; the probe set is the
train split, the test set the test split). Never downloads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset, Subset
from torchvision.datasets import CIFAR10, CIFAR100, ImageFolder

from solo_tase.errors import ConfigError, InputError

TORCHVISION_SETS: dict[str, type[CIFAR10]] = {"cifar10": CIFAR10, "cifar100": CIFAR100}


@dataclass
class EvalSet:
    """A labelled image set for evaluation."""

    dataset: Dataset  # yields (image tensor, label)
    classes: list[str]  # label -> class name (ImageFolder: folder name)
    targets: np.ndarray  # [N] int64 labels
    description: str  # what it is and where (metrics.json ``inputs``)
    identity: str  # sha256 of (relative path, label, bytes) per image: same data, same identity
    cache_key: str  # identity plus modification times (feature cache)
    image_ids: np.ndarray  # [N] str: equal for the same image (a file's resolved path, links
    # followed; a CIFAR image's position in its split)

    def subset(self, positions: np.ndarray, name: str, key: str) -> EvalSet:
        """The images at ``positions`` [K] (named ``name``; ``key`` identifies the choice in the
        feature cache, e.g. the SHA-256 of the index file)."""
        return EvalSet(
            dataset=Subset(self.dataset, positions.tolist()),
            classes=self.classes,
            targets=self.targets[positions],
            description=f"{self.description}[{name}]",
            identity=self.identity,
            cache_key=f"{self.cache_key}:{key}",
            image_ids=self.image_ids[positions],
        )


def open_set(
    spec: str, *, role: str, data_root: Path | None, transform: Callable | None
) -> EvalSet:
    """Open the ``role`` ("probe" or "test") set named ``spec``; every class must have images."""
    path = Path(spec).expanduser()
    if path.is_dir():
        found = _image_folder(path.resolve(), transform)
    elif spec in TORCHVISION_SETS:
        found = _torchvision(spec, role == "probe", data_root, transform)
    else:
        raise FileNotFoundError(
            f"{role} set {spec!r} is neither a folder nor one of {sorted(TORCHVISION_SETS)}: pass "
            "an ImageFolder folder (e.g. <digits-lt>/probe) or a CIFAR name with --data-root"
        )
    require_every_class(found.targets, found.classes, f"{role} set {found.description}")
    return found


def open_sets(
    specs: Sequence[tuple[str, str, Callable | None]], data_root: Path | None
) -> list[EvalSet]:
    """The sets named by ``(spec, role, transform)`` triples (see :func:`open_set`), in order."""
    return [open_set(spec, role=role, data_root=data_root, transform=t) for spec, role, t in specs]


def require_every_class(targets: np.ndarray, classes: Sequence[str], what: str) -> None:
    """Raise ``InputError`` naming the classes of ``classes`` without any label in ``targets``."""
    counts = np.bincount(targets, minlength=len(classes))
    empty = [classes[int(i)] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise InputError(
            f"{what} has no images of class(es) {empty[:10]}: every class needs "
            "images (add them, or remove the class from every set and the manifest)"
        )


def _image_folder(path: Path, transform: Callable | None) -> EvalSet:
    ds = ImageFolder(str(path), transform=transform, allow_empty=True)
    ids = np.array([os.path.realpath(file) for file, _ in ds.samples], dtype=str)
    listing, times = hashlib.sha256(), hashlib.sha256()
    for file, label in ds.samples:
        st = Path(file).stat()
        listing.update(f"{Path(file).relative_to(path)}\t{label}\t{st.st_size}\n".encode())
        times.update(f"{st.st_mtime_ns}\n".encode())
    identity = listing.hexdigest()
    return EvalSet(
        dataset=ds,
        classes=list(ds.classes),
        targets=np.asarray(ds.targets, dtype=np.int64),
        description=str(path),
        identity=identity,
        cache_key=f"{identity}:{times.hexdigest()}",
        image_ids=ids,
    )


def _torchvision(
    name: str, train: bool, data_root: Path | None, transform: Callable | None
) -> EvalSet:
    cls = TORCHVISION_SETS[name]
    if data_root is None:
        raise ConfigError(f"{name} needs --data-root: the folder that holds {cls.base_folder}")
    try:
        ds = cls(str(data_root), train=train, transform=transform, download=False)
    except RuntimeError:
        raise FileNotFoundError(
            f"{name} not found under {data_root} (expected {data_root / cls.base_folder}): "
            f"download it once with torchvision.datasets.{cls.__name__}('{data_root}', "
            "download=True) or point --data-root at it"
        ) from None
    targets = np.asarray(ds.targets, dtype=np.int64)
    identity = hashlib.sha256(ds.data.tobytes() + targets.tobytes()).hexdigest()
    split = "train" if train else "test"
    return EvalSet(
        dataset=ds,
        classes=list(ds.classes),
        targets=targets,
        description=f"{name}:{split}@{Path(data_root).resolve()}",
        identity=identity,
        cache_key=identity,
        image_ids=np.char.add(
            f"{name}:{split}:{identity[:16]}#", np.arange(len(targets)).astype(str)
        ),
    )
