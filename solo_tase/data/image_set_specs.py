"""The options of the sets built from the user's image files (settings-kit records): a text list
of ``relative/path label`` lines, or any ImageFolder made long-tailed; ``symlinked.py`` builds
them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic.dataclasses import dataclass

from solo_tase.data.profiles import Groups, Ratio
from solo_tase.settings import SETTINGS, Count, doc, integer_from

# Named text-list sources: (manifest name, what the list is).
LIST_PRESETS = {
    "imagenet100-lt": "ImageNet-100-LT (SDCLR's imageNet_100_LT_train.txt, 12,205 images)",
    "imagenet-lt": "ImageNet-LT (ImageNet_LT_train.txt, 115,846 images)",
    "places-lt": "Places-LT (Places_LT_train.txt, 62,500 images)",
}


@dataclass(frozen=True, config=SETTINGS)
class ImageListSpec:
    """A set made of a text list (and a val/test list), as files under an image root: a
    settings-kit record."""

    root: Annotated[Path, doc("image root the list's paths are relative to")]
    train_list: Annotated[Path, doc("the training list")]
    val_list: (
        Annotated[Path, doc("a val/test list, written to val/ with the training list's classes")]
        | None
    ) = None
    name: Annotated[str, doc("dataset name; unset: the training list's file name")] | None = None
    groups: Groups = "thresholds"

    @property
    def dataset_name(self) -> str:
        """``name``, else the training list's file name in lower case."""
        return self.name or self.train_list.stem.lower()


@dataclass(frozen=True, config=SETTINGS)
class FolderLTSpec:
    """Any ImageFolder made long-tailed with the exponential profile: a settings-kit record."""

    root: Annotated[Path, doc("the source ImageFolder")]
    ratio: Ratio = 100.0
    n_max: (
        Annotated[Count, doc("images of the head class; unset: the smallest class size")] | None
    ) = None
    seed: Annotated[int, integer_from(0), doc("seed of the choice inside classes")] = 0
    groups: Groups = "thirds"

    @property
    def name(self) -> str:
        """The set's name, e.g. ``flowers-lt-r100-s0``."""
        name = f"{self.root.expanduser().resolve().name}-lt-r{self.ratio:g}-s{self.seed}"
        return name + (f"-n{self.n_max}" if self.n_max else "")
