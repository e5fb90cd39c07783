"""Where built datasets go: the data root (``$SOLO_TASE_DATA``, else ``./datasets``, the folder
the configs read) and a build's output options (``--out`` / ``--replace``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic.dataclasses import dataclass

from solo_tase.settings import SETTINGS, Flag, doc


def default_data_root() -> Path:
    """``$SOLO_TASE_DATA`` or ``./datasets`` (the same default the configs use)."""
    return Path(os.environ.get("SOLO_TASE_DATA", "datasets"))


@dataclass(frozen=True, config=SETTINGS)
class BuildOutput:
    """Where a build writes and whether it may replace another dataset there."""

    out: (
        Annotated[
            Path,
            doc(
                "output folder; unset: $SOLO_TASE_DATA/NAME, else ./datasets/NAME (NAME: the "
                "dataset's name)"
            ),
        ]
        | None
    ) = None
    replace: Annotated[Flag, doc("overwrite a different dataset at the output folder")] = False

    def folder(self, name: str) -> Path:
        """``out``, else the data root's folder for the dataset ``name``."""
        return self.out or default_data_root() / name
