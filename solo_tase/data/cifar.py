"""CIFAR-10-LT and CIFAR-100-LT as PNG folders: torchvision's CIFAR files read, the spec's train
set (``cifar_spec.py``) and the balanced test set written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10, CIFAR100

from solo_tase.data.cifar_spec import CifarLTSpec, require_files
from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.writer import materialize, write_png_split

# The original torchvision classes (bound at import, before the in-place hook can replace the
# names in ``torchvision.datasets``).
CIFAR_SETS: dict[str, type[CIFAR10]] = {"cifar10": CIFAR10, "cifar100": CIFAR100}


@dataclass(frozen=True)
class CifarArrays:
    """One CIFAR split: uint8 images [N, 32, 32, 3], int64 labels [N], class names [C]."""

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]


def load_cifar(
    dataset: str, root: str | Path, *, train: bool = True, download: bool = False
) -> CifarArrays:
    """Read a CIFAR split with torchvision (which verifies the files' MD5 sums).

    Raises:
        FileNotFoundError: the files are missing or corrupt and ``download`` is off.
    """
    cls = CIFAR_SETS[dataset]
    root = Path(root).expanduser()
    folder = root / cls.base_folder
    hint = (
        f"allow the download (`--download`, or `data.long_tail.download: true`) to fetch it "
        f"from {cls.url}, or point the root at the folder that holds {cls.base_folder}/"
    )
    if not download and not folder.is_dir():
        raise FileNotFoundError(f"{dataset} not found: {folder} does not exist; {hint}")
    try:
        ds = cls(str(root), train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
        raise FileNotFoundError(
            f"{dataset} at {folder} is incomplete or corrupt ({err}); {hint}"
        ) from None
    return CifarArrays(
        images=np.asarray(ds.data),
        labels=np.asarray(ds.targets, dtype=np.int64),
        classes=list(ds.classes),
    )


def build_cifar_lt(
    out: str | Path,
    spec: CifarLTSpec,
    root: str | Path,
    *,
    download: bool = False,
    replace: bool = False,
    where: str = "",
    command: str | None = None,
) -> Manifest:
    """Write ``out/train`` (the LT set) and ``out/test`` (the balanced test set) as PNG folders.

    Files are ``<class dir>/<CIFAR index, 6 digits>.png``; ``out/manifest.json`` describes the
    train part. Atomic; an identical build is reused, a different one refused unless ``replace``.
    Errors name the spec's keys after ``where`` (``--``).
    """
    require_files(spec, where)
    train = load_cifar(spec.dataset, root, train=True, download=download)
    test = load_cifar(spec.dataset, root, train=False, download=download)
    selection = spec.select(train.labels, where)
    test_ids = np.arange(test.labels.size)
    manifest = spec.manifest_for(
        selection,
        train.classes,
        extra={
            "test_checksum": checksum_items(test_ids.tolist()),
            "splits": {"train": "train", "test": "test"},
        },
    )

    def fill(tmp: Path) -> None:
        write_png_split(
            tmp / "train",
            train.images[selection.positions],
            selection.labels,
            selection.positions,
            train.classes,
        )
        write_png_split(tmp / "test", test.images, test.labels, test_ids, test.classes)

    materialize(Path(out), manifest, fill, replace=replace, command=command)
    return manifest
