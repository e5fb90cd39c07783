"""How ``zoo publish`` makes an entry of a run: its options, a settings-kit record (the command
line's options are generated from it)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Annotated

from pydantic.dataclasses import dataclass

from solo_tase.settings import SETTINGS, Flag, check, doc
from solo_tase.solo_compat import SOLO_LEARN_COMMIT
from solo_tase.zoo.card import FolderName


def has_scheme(url: str) -> bool:
    """Whether ``url`` names its scheme (``https://...``, ``file:///...``)."""
    return bool(urllib.parse.urlparse(url).scheme)


@dataclass(frozen=True, config=SETTINGS)
class PublishOptions:
    """The choices of a publication (everything else comes from the run and its metrics)."""

    url: (
        Annotated[
            str,
            check(has_scheme, "needs a scheme (https://..., file:///...)"),
            doc("where the weights file will be downloadable from"),
        ]
        | None
    ) = None
    name: Annotated[FolderName, doc("entry name; unset: the run's args.json name")] | None = None
    dataset: (
        Annotated[
            FolderName,
            doc("zoo dataset folder; unset: the data manifest's name, else data.dataset"),
        ]
        | None
    ) = None
    checkpoint: (
        Annotated[Path, doc("checkpoint to publish; unset: the only one, or the latest epoch")]
        | None
    ) = None
    full_checkpoint: Annotated[
        Flag, doc("publish the run's checkpoint as is instead of backbone-only weights")
    ] = False
    replace: Annotated[Flag, doc("overwrite an entry of the same name")] = False
    solo_learn_commit: Annotated[str, doc("solo-learn commit the run used")] = SOLO_LEARN_COMMIT
