"""What makes a Fashion-MNIST-LT build: the spec (a settings-kit record) with its class order,
and where the idx files are; ``fashion_mnist.py`` reads the files and builds the set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import model_validator
from pydantic.dataclasses import dataclass

from solo_tase.data.profiles import Ratio
from solo_tase.settings import SETTINGS, Count, Flag, check, cross_check, doc, integer_from

NUM_CLASSES = 10
DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
BALANCED_SPLIT = "train-balanced"  # the balanced train set's folder (balanced_train)


def parse_class_order(value: str, num_classes: int = 10) -> list[int] | None:
    """Head-to-tail class order: ``label`` (0..C-1), ``random:<seed>`` (a seeded permutation) or
    a comma-separated list of all C labels; ``None`` when ``value`` is none of these."""
    if value == "label":
        return list(range(num_classes))
    if value.startswith("random:"):
        try:
            seed = int(value.split(":", 1)[1])
        except ValueError:
            return None
        if seed < 0:  # numpy's generators take seeds >= 0
            return None
        return [int(c) for c in np.random.default_rng(seed).permutation(num_classes)]
    try:
        order = [int(x) for x in value.split(",")]
    except ValueError:
        return None
    return order if sorted(order) == list(range(num_classes)) else None


ClassOrder = Annotated[
    str,
    check(
        lambda v: parse_class_order(v) is not None,
        "must be 'label', 'random:<seed>' (an integer seed, e.g. random:1) or a "
        "comma-separated permutation of 0..9",
    ),
    doc("head-to-tail class order: label, random:SEED or a comma list of the 10 labels"),
]


@dataclass(frozen=True, config=SETTINGS)
class FashionLTSpec:
    """Knobs of Fashion-MNIST-LT (counts in images per class): a settings-kit record."""

    ratio: Ratio = 100.0
    n_max: (
        Annotated[Count, doc("images of the head class; unset: all left after the val part")] | None
    ) = None
    seed: Annotated[
        int, integer_from(0), doc("seed of the choice of images inside classes and of the val part")
    ] = 0
    class_order: ClassOrder = "label"
    val_per_class: Annotated[
        int, integer_from(0), doc("balanced validation images per class, held out first")
    ] = 100
    probe_per_class: (
        Annotated[Count, doc("balanced probe images per class; unset: all left after the val part")]
        | None
    ) = None
    balanced_train: Annotated[
        Flag,
        doc(
            f"also write {BALANCED_SPLIT}/: a balanced training set of the same size, drawn "
            "outside val, probe and test (the positive control of docs/results.md)"
        ),
    ] = False

    @property
    def name(self) -> str:
        order = (
            ""
            if self.class_order == "label"
            else "-o" + self.class_order.replace("random:", "r").replace(",", "")
        )
        n_max = f"-n{self.n_max}" if self.n_max else ""
        balanced = "-bal" if self.balanced_train else ""
        return f"fashion-mnist-lt-r{self.ratio:g}{n_max}{order}-s{self.seed}{balanced}"

    @property
    def order(self) -> list[int]:
        """The class labels from head to tail [10]."""
        order = parse_class_order(self.class_order)
        assert order is not None  # the record's rule
        return order


@dataclass(frozen=True, config=SETTINGS)
class FashionFiles:
    """Where the four idx files are, and whether torchvision may download them there."""

    root: (
        Annotated[
            Path,
            doc(
                "folder with the four idx files, gzipped or not; unset: "
                f"{DEFAULT_ROOT}, Debian's dataset-fashion-mnist"
            ),
        ]
        | None
    ) = None
    download: Annotated[
        Flag, doc("let torchvision download Fashion-MNIST into the root folder if missing")
    ] = False

    @model_validator(mode="after")
    def _root_to_download_into(self) -> FashionFiles:
        ok = self.root is not None or not self.download
        cross_check(
            ok, "root", "given with {download}: the folder torchvision downloads into", None
        )
        return self
