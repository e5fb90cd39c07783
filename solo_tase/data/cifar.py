"""CIFAR-10-LT and CIFAR-100-LT from torchvision's CIFAR: the spec, its manifest, the PNG build.

Two sources draw the long-tailed train set (the test set stays the balanced CIFAR test set):

* ``profile``: the exponential profile ``n_i = floor(n_max * ratio^(-i/(C-1)))`` over torchvision's
  label order (class 0 -- airplane / apple -- is the head, class C-1 the tail), seeded choice
  inside each class (:func:`~solo_tase.data.selection.profile_selection`). ``n_max`` defaults to
  the class size (5,000 / 500), or less when ``exclude_file`` holds images out (e.g. SDCLR's
  ``valIdxList.npy``: 450 per CIFAR-100 class remain, the SDCLR profile of 9,754 images).
  ``draw: ldam`` draws LDAM's exact indexes instead (GH's CIFAR-100-LT,
  :func:`~solo_tase.data.selection.ldam_selection`).
* ``sdclr``: a ``.npy`` split file of CIFAR train-set indexes (SDCLR's ``*_D_i.npy``), or of
  positions in a ``pool_file`` of train-set indexes.

The same spec serves the in-place hook (``data.long_tail``, see ``long_tail.py``) and the
materialised build (``solo-tase data build cifar10-lt ...``): both give the same manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torchvision.datasets import CIFAR10, CIFAR100

from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.selection import (
    LongTailSelection,
    index_selection,
    ldam_selection,
    load_index_file,
    profile_selection,
    split_positions,
)
from solo_tase.data.writer import materialize, write_png_split
from solo_tase.settings import ConfigError, require

# The original torchvision classes (bound at import, before the in-place hook can replace the
# names in ``torchvision.datasets``).
CIFAR_SETS: dict[str, type[CIFAR10]] = {"cifar10": CIFAR10, "cifar100": CIFAR100}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
SOURCES = ("profile", "sdclr")
DRAWS = ("seeded", "ldam")
_PROFILE_KEYS = ("ratio", "n_max", "seed", "exclude_file", "draw")
_SPLIT_KEYS = ("split_file", "pool_file")


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


def _key(prefix: str, name: str) -> str:
    """Name of a spec key as the user wrote it: ``data.long_tail.n_max`` or ``--n-max``."""
    return "--" + name.replace("_", "-") if prefix == "--" else prefix + name


@dataclass(frozen=True)
class CifarLTSpec:
    """What makes a CIFAR-LT train set (counts in images; files are ``.npy`` index arrays)."""

    dataset: str  # "cifar10" or "cifar100"
    source: str = "profile"  # "profile" or "sdclr"
    ratio: float | None = None  # profile: imbalance ratio n_max / n_min (>= 1)
    n_max: int | None = None  # profile: head-class count; None = the smallest candidate count
    seed: int | None = None  # profile: seed of the choice inside each class (None = 0)
    exclude_file: str | None = None  # profile: train indexes never drawn (a held-out val set)
    split_file: str | None = None  # sdclr: train indexes (or pool positions) of the LT set
    pool_file: str | None = None  # sdclr: the pool that split_file indexes into
    draw: str | None = None  # profile: "seeded" (default_rng, the default) or "ldam" (LDAM / GH)

    def validate(self, prefix: str = "") -> None:
        """Raise ``ConfigError`` naming ``prefix + key`` for the first bad value."""
        require(
            self.dataset in CIFAR_SETS,
            _key(prefix, "dataset"),
            "one of 'cifar10', 'cifar100'",
            self.dataset,
        )
        require(
            self.source in SOURCES, _key(prefix, "source"), "one of 'profile', 'sdclr'", self.source
        )
        profile = self.source == "profile"
        stray = [
            _key(prefix, k)
            for k in (_SPLIT_KEYS if profile else _PROFILE_KEYS)
            if getattr(self, k) is not None
        ]
        if stray:
            raise ConfigError(
                f"{stray} only apply to source {'sdclr' if profile else 'profile'!r}"
                f" (this spec's source is {self.source!r}): remove them"
            )
        if profile:
            require(
                self.ratio is not None and self.ratio >= 1,
                _key(prefix, "ratio"),
                "set to the imbalance ratio n_max / n_min (a number >= 1, e.g. 100)",
                self.ratio,
            )
            require(
                self.n_max is None or self.n_max >= 1,
                _key(prefix, "n_max"),
                "an integer >= 1 (or unset for the class size)",
                self.n_max,
            )
            require(
                self.draw is None or self.draw in DRAWS,
                _key(prefix, "draw"),
                f"one of {DRAWS}",
                self.draw,
            )
            if self.draw == "ldam" and (self.n_max is not None or self.exclude_file is not None):
                raise ConfigError(
                    f"{_key(prefix, 'draw')} 'ldam' draws from the full train set "
                    f"with n_max = its class size: remove {_key(prefix, 'n_max')} "
                    f"and {_key(prefix, 'exclude_file')}"
                )
        else:
            require(
                self.split_file is not None,
                _key(prefix, "split_file"),
                "the .npy split file for source 'sdclr'",
                self.split_file,
            )
        for key in ("exclude_file", "split_file", "pool_file"):
            value = getattr(self, key)
            if value is not None and not Path(value).is_file():
                raise FileNotFoundError(f"{_key(prefix, key)}: no such file {value}")

    @property
    def name(self) -> str:
        """Manifest / folder name: ``cifar100-lt-r100-s0``, ``cifar10-lt-sdclr-split1_D_i``."""
        if self.source == "sdclr":
            assert self.split_file is not None
            return f"{self.dataset}-lt-sdclr-{Path(self.split_file).stem}"
        name = f"{self.dataset}-lt-r{self.ratio:g}-s{self.seed or 0}"
        if self.draw == "ldam":
            return name + "-ldam"
        if self.n_max:
            name += f"-n{self.n_max}"
        if self.exclude_file:
            name += f"-excl-{Path(self.exclude_file).stem}"
        return name

    def select(self, labels: np.ndarray) -> LongTailSelection:
        """The long-tailed subset of a CIFAR train set with ``labels`` [50000]."""
        num_classes = NUM_CLASSES[self.dataset]
        if self.source == "sdclr":
            assert self.split_file is not None
            positions = split_positions(self.split_file, labels.size, self.pool_file)
            return index_selection(labels, num_classes, positions)
        assert self.ratio is not None
        if self.draw == "ldam":
            return ldam_selection(labels, num_classes, ratio=self.ratio, seed=self.seed or 0)
        exclude = load_index_file(self.exclude_file, labels.size) if self.exclude_file else None
        return profile_selection(
            labels,
            num_classes,
            ratio=self.ratio,
            seed=self.seed or 0,
            n_max=self.n_max,
            exclude=exclude,
        )

    def manifest_for(
        self, selection: LongTailSelection, classes: list[str], extra: dict[str, Any] | None = None
    ) -> Manifest:
        """The manifest of ``selection`` (its checksum covers the ordered train indexes)."""
        if self.source == "sdclr":
            profile: dict[str, Any] = {
                "type": "split_file",
                "split_file": Path(self.split_file or "").name,
                "pool_file": Path(self.pool_file).name if self.pool_file else None,
            }
        else:
            profile = {
                "type": "exponential",
                "ratio": self.ratio,
                "n_max": selection.counts[0],
                **({"draw": "ldam"} if self.draw == "ldam" else {}),
                "exclude_file": Path(self.exclude_file).name if self.exclude_file else None,
                "class_order": "torchvision label order: class 0 (head) .. C-1 (tail)",
            }
        return Manifest.build(
            name=self.name,
            source=f"torchvision.datasets.{CIFAR_SETS[self.dataset].__name__} "
            "train set (indexes 0..49999)",
            class_names=classes,
            counts=selection.counts,
            items=selection.positions.tolist(),
            group_rule="thirds",
            profile=profile,
            seed=(self.seed or 0) if self.source == "profile" else None,
            extra={"dataset": self.dataset, **(extra or {})},
        )


def build_cifar_lt(
    out: str | Path,
    spec: CifarLTSpec,
    root: str | Path,
    *,
    download: bool = False,
    replace: bool = False,
) -> Manifest:
    """Write ``out/train`` (the LT set) and ``out/test`` (the balanced test set) as PNG folders.

    Files are ``<class dir>/<CIFAR index, 6 digits>.png``; ``out/manifest.json`` describes the
    train part. Atomic; an identical build is reused, a different one refused unless ``replace``.
    """
    spec.validate("--")
    train = load_cifar(spec.dataset, root, train=True, download=download)
    test = load_cifar(spec.dataset, root, train=False, download=download)
    selection = spec.select(train.labels)
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

    materialize(Path(out), manifest, fill, replace=replace)
    return manifest
