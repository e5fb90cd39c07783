"""What makes a CIFAR-10-LT / CIFAR-100-LT train set: the spec (a settings-kit record), its draw
and its manifest; torchvision's files are read by ``cifar.py``.

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

from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import model_validator
from pydantic.dataclasses import dataclass

from solo_tase.data.manifest import Manifest
from solo_tase.data.selection import (
    LongTailSelection,
    index_selection,
    ldam_selection,
    load_index_file,
    profile_selection,
    split_positions,
)
from solo_tase.settings import (
    SETTINGS,
    Flag,
    check,
    cross_check,
    doc,
    integer_from,
    key_name,
    one_of,
)

NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
DRAWS = ("seeded", "ldam")
SOURCE_KEYS = {  # the keys that only apply to each source
    "profile": ("ratio", "n_max", "seed", "exclude_file", "draw"),
    "sdclr": ("split_file", "pool_file"),
}
FILE_KEYS = ("exclude_file", "split_file", "pool_file")
RATIO_RULE = "set to the imbalance ratio n_max / n_min (a number >= 1, e.g. 100)"


@dataclass(frozen=True, config=SETTINGS)
class CifarLTSpec:
    """What makes a CIFAR-LT train set (counts in images; files are ``.npy`` index arrays): a
    settings-kit record, so every bad value is refused when it is made (:func:`parse` names the
    key). Whether its files exist is checked by :func:`require_files`."""

    dataset: Annotated[str, one_of(*NUM_CLASSES), doc("the CIFAR set")]
    source: Annotated[
        str,
        one_of(*SOURCE_KEYS),
        doc("profile: the exponential profile, seeded; sdclr: an SDCLR .npy split file"),
    ] = "profile"
    ratio: (
        Annotated[
            float,
            check(lambda r: r >= 1, "must be " + RATIO_RULE),
            doc("profile: imbalance ratio n_max / n_min (>= 1)"),
        ]
        | None
    ) = None
    n_max: (
        Annotated[
            int,
            integer_from(1, "(or unset for the class size)"),
            doc("profile: head-class count; unset: the class size, less with exclude_file"),
        ]
        | None
    ) = None
    seed: (
        Annotated[int, integer_from(0), doc("profile: seed of the choice inside classes; unset: 0")]
        | None
    ) = None
    exclude_file: (
        Annotated[
            str, doc("profile: .npy of train indexes never drawn (e.g. SDCLR's valIdxList.npy)")
        ]
        | None
    ) = None
    split_file: (
        Annotated[
            str,
            doc("sdclr: .npy of CIFAR train indexes (split1_D_i.npy), or of pool_file positions"),
        ]
        | None
    ) = None
    pool_file: (
        Annotated[str, doc("sdclr: .npy pool of train indexes that split_file holds positions in")]
        | None
    ) = None
    draw: (
        Annotated[
            str,
            one_of(*DRAWS),
            doc("profile: seeded (default_rng, the default) or ldam (LDAM's / GH's exact indexes)"),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _keys_of_the_source(self) -> CifarLTSpec:
        other = "sdclr" if self.source == "profile" else "profile"
        stray = [k for k in SOURCE_KEYS[other] if getattr(self, k) is not None]
        listed = "[" + ", ".join(f"'{{{k}}}'" for k in stray) + "]"
        allowed = (
            f"the source of the keys given: {listed} only apply to source {other!r}; remove them"
        )
        cross_check(not stray, "source", allowed, self.source)
        if self.source == "sdclr":
            rule = "the .npy split file for source 'sdclr'"
            cross_check(self.split_file is not None, "split_file", rule, None)
            return self
        cross_check(self.ratio is not None, "ratio", RATIO_RULE, None)
        ldam_alone = self.draw != "ldam" or (self.n_max is None and self.exclude_file is None)
        rule = (
            "'seeded' with {n_max} or {exclude_file}: 'ldam' draws from the full train set with "
            "n_max = its class size"
        )
        cross_check(ldam_alone, "draw", rule, self.draw)
        return self

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

    def select(self, labels: np.ndarray, where: str = "") -> LongTailSelection:
        """The long-tailed subset of a CIFAR train set with ``labels`` [50000]; errors name the
        spec's keys after ``where``."""
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
            where=where,
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
            source=f"torchvision.datasets.{self.dataset.upper()} train set (indexes 0..49999)",
            class_names=classes,
            counts=selection.counts,
            items=selection.positions.tolist(),
            group_rule="thirds",
            profile=profile,
            seed=(self.seed or 0) if self.source == "profile" else None,
            extra={"dataset": self.dataset, **(extra or {})},
        )


def require_files(spec: CifarLTSpec, where: str = "") -> None:
    """Raise ``FileNotFoundError`` naming the key (after ``where``) of a file of ``spec`` that is
    not there."""
    for key in FILE_KEYS:
        value = getattr(spec, key)
        if value is not None and not Path(value).is_file():
            raise FileNotFoundError(f"{key_name(where, key)}: no such file {value}")


@dataclass(frozen=True, config=SETTINGS)
class CifarFiles:
    """Where torchvision's CIFAR files are, and whether they may be downloaded there."""

    root: (
        Annotated[
            Path,
            doc(
                "torchvision CIFAR root holding cifar-10-batches-py / cifar-100-python; "
                "unset: $SOLO_TASE_DATA or ./datasets"
            ),
        ]
        | None
    ) = None
    download: Annotated[
        Flag, doc("allow torchvision to download CIFAR into the root if it is missing")
    ] = False
