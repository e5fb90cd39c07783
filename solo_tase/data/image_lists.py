"""Labelled image files: text lists (``relative/path label``) and ImageFolder trees, checked.

Text lists are the format of the ImageNet-LT, ImageNet-100-LT and Places-LT splits (and their
balanced and few-shot lists): one image per line, its path relative to the user's image root and
its integer label. Reading one checks everything a build needs before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from torchvision.datasets.folder import (
    IMG_EXTENSIONS,
    find_classes,
    has_file_allowed_extension,
    make_dataset,
)

from solo_tase.errors import InputError


@dataclass(frozen=True)
class ImageList:
    """Image files under ``root``: relative ``paths`` [N], int64 ``labels`` [N], names [C]."""

    root: Path
    paths: list[str]
    labels: np.ndarray
    class_names: list[str]

    @property
    def counts(self) -> list[int]:
        """Images per class [C]."""
        return np.bincount(self.labels, minlength=len(self.class_names)).tolist()


def _first(items: Sequence[object], n: int = 5) -> str:
    return ", ".join(map(str, items[:n])) + (" ..." if len(items) > n else "")


def parse_image_list(list_file: Path) -> tuple[list[str], list[int]]:
    """Paths [N] and labels [N] of a ``relative/path label`` list (format checks only)."""
    try:
        lines = list_file.read_text().splitlines()
    except UnicodeDecodeError as err:
        raise InputError(f"{list_file} is not a text list ({err})") from None
    paths, labels = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise InputError(f"{list_file}:{number}: expected 'relative/path label', got {line!r}")
        path, label = parts[0].strip(), int(parts[1])
        if label < 0:
            raise InputError(f"{list_file}:{number}: labels must be >= 0, got {label}")
        if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
            raise InputError(
                f"{list_file}:{number}: paths must be relative to the image root "
                f"and stay inside it, got {path!r}"
            )
        paths.append(path)
        labels.append(label)
    if not paths:
        raise InputError(f"{list_file} lists no images")
    return paths, labels


def _check_paths(list_file: Path, root: Path, paths: list[str]) -> None:
    repeated = [p for p, n in Counter(paths).items() if n > 1]
    if repeated:
        raise InputError(
            f"{list_file} lists {len(repeated)} path(s) more than once "
            f"(first: {_first(repeated)}): a split lists every image once"
        )
    odd = [p for p in paths if not has_file_allowed_extension(p, IMG_EXTENSIONS)]
    if odd:
        raise InputError(
            f"{list_file}: {len(odd)} listed file(s) are not images that "
            f"torchvision's ImageFolder reads {IMG_EXTENSIONS} (first: {_first(odd)})"
        )
    missing = [p for p in paths if not (root / p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of the {len(paths)} files listed in {list_file} do not exist under "
            f"{root} (first: {_first(missing)}): pass the image root the list's paths are "
            "relative to (e.g. the folder holding train/ and val/)"
        )


def _class_names(paths: list[str], labels: np.ndarray, num_classes: int) -> list[str]:
    """Each label's folder name (the parent folder of its first file) if these are distinct."""
    first: dict[int, str] = {}
    for path, label in zip(paths, labels.tolist()):
        first.setdefault(label, PurePosixPath(path).parent.name)
    names = [first.get(c, "") for c in range(num_classes)]
    if all(names) and len(set(names)) == num_classes:
        return names
    return [str(c) for c in range(num_classes)]


def read_image_list(
    list_file: str | Path, root: str | Path, class_names: Sequence[str] | None = None
) -> ImageList:
    """Read and check a ``relative/path label`` list against the image ``root``.

    Labels must be ``0..C-1`` with every class present; ``C`` is ``len(class_names)`` when given
    (e.g. a val list read with the train list's classes), else the largest label + 1, and class
    names default to each label's folder name.

    Raises:
        FileNotFoundError: the list, the root or a listed file is missing (how many, first few).
        InputError: a malformed line, a repeated path, a non-image file, a label out of range or
            a class without images.
    """
    list_file, root = Path(list_file), Path(root).expanduser().resolve()
    if not list_file.is_file():
        raise FileNotFoundError(f"image list {list_file} does not exist")
    if not root.is_dir():
        raise FileNotFoundError(
            f"image root {root} is not a folder: pass the folder the paths "
            f"in {list_file.name} are relative to"
        )
    paths, raw = parse_image_list(list_file)
    labels = np.asarray(raw, dtype=np.int64)
    num_classes = len(class_names) if class_names is not None else int(labels.max()) + 1
    if labels.max() >= num_classes:
        raise InputError(
            f"{list_file} has labels up to {labels.max()} but there are only "
            f"{num_classes} classes (those of the train list)"
        )
    counts = np.bincount(labels, minlength=num_classes)
    empty = np.flatnonzero(counts == 0).tolist()
    if empty:
        raise InputError(
            f"{list_file} has no images of label(s) {_first(empty, 10)} "
            f"({len(empty)} of {num_classes} classes): every class needs images"
        )
    _check_paths(list_file, root, paths)
    names = (
        list(class_names) if class_names is not None else _class_names(paths, labels, num_classes)
    )
    return ImageList(root=root, paths=paths, labels=labels, class_names=names)


def scan_image_folder(root: str | Path) -> ImageList:
    """The images of an ImageFolder tree, exactly as torchvision's ``ImageFolder`` finds them."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    classes, class_to_idx = find_classes(str(root))
    samples = make_dataset(str(root), class_to_idx, extensions=IMG_EXTENSIONS)
    return ImageList(
        root=root,
        paths=[str(Path(p).relative_to(root)) for p, _ in samples],
        labels=np.asarray([c for _, c in samples], dtype=np.int64),
        class_names=list(classes),
    )
