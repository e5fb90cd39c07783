"""The options of a command that writes a plot beside its table (``data inspect``,
``diagnostics``): where the PNG goes, or none. Running the command again replaces the plot it
wrote before (its mark in the PNG, ``solo_tase.data.plot.made_by``); any other existing file is
kept unless ``--replace``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic.dataclasses import dataclass

from solo_tase.settings import SETTINGS, Flag, doc


@dataclass(frozen=True, config=SETTINGS)
class PlotOptions:
    """Where the plot goes; the command supplies the default path."""

    plot: Annotated[Path, doc("PNG file of the plot")] | None = None
    no_plot: Annotated[Flag, doc("do not write the plot")] = False
    replace: Annotated[Flag, doc("overwrite an existing plot file")] = False
