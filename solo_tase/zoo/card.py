"""The model card ``card.yaml``: what a zoo entry claims about its weights (docs/zoo.md)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, Field
from pydantic.dataclasses import dataclass

from solo_tase.settings import SETTINGS, check, doc, parse, rule
from solo_tase.solo_compat import SOLO_LEARN_COMMIT
from solo_tase.utils.documents import read_document

CARD_NAME = "card.yaml"
CARD_SCHEMA = "solo-tase/model-card/v1"
METRIC_KEYS = ("all", "many", "medium", "few", "std")

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$"), rule("64 lowercase hex digits")]
Percent = Annotated[float, Field(strict=True, ge=0, le=100), rule("a percentage in [0, 100]")]
Metrics = Annotated[  # the METRIC_KEYS in %; other keys are dropped
    dict[str, Percent],
    BeforeValidator(lambda d: {k: d.get(k) for k in METRIC_KEYS} if isinstance(d, Mapping) else d),
]
Protocol = Annotated[  # metrics.json "protocol": name, shots, fraction, seeds, ...
    dict[str, Any], check(lambda p: bool(p.get("name")), "must be an object with a 'name'")
]
FileName = Annotated[
    str, check(lambda f: Path(f).name == f and not f.startswith("."), "must be a plain file name")
]


def is_folder_name(value: str) -> bool:
    """Whether ``value`` is a safe folder name: letters, digits, ``.``, ``_``, ``-``, starting
    with a letter or digit."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value or "") is not None


FOLDER_NAME_RULE = (
    "is not a usable folder name: use letters, digits, '.', '_' and '-', starting with a letter "
    "or digit"
)
FolderName = Annotated[str, check(is_folder_name, FOLDER_NAME_RULE)]  # a zoo entry's folders


@dataclass(frozen=True, config=SETTINGS)
class Weights:
    file: Annotated[FileName, doc("the weights file, beside the card")]
    kind: Annotated[
        Literal["backbone", "checkpoint"],
        rule("one of ('backbone', 'checkpoint')"),
        doc("`backbone` (backbone-only weights) or `checkpoint` (the run's checkpoint as is)"),
    ]
    sha256: Annotated[Sha256, doc("sha256 of the weights file")]
    size: Annotated[
        int, Field(strict=True, gt=0), rule("a positive number of bytes"), doc("its size, bytes")
    ]
    source_checkpoint: Annotated[str, doc("file name of the run's checkpoint")]
    source_sha256: Annotated[Sha256, doc("sha256 of the run's checkpoint")]


@dataclass(frozen=True, config=SETTINGS)
class Evaluation:
    protocol: Annotated[Protocol, doc("the protocol and all its options, from metrics.json")]
    metrics: Annotated[Metrics, doc("accuracies in %: all, many, medium, few, std")]
    metrics_std: Annotated[Metrics, doc("their std over seeds")] | None
    file: Annotated[str, doc("the copy of metrics.json beside the card")]


@dataclass(frozen=True, config=SETTINGS)
class Pretraining:
    data: Annotated[str, doc("`data.dataset`")]
    manifest: Annotated[str, doc("the name of the data manifest, or null")] | None
    manifest_checksum: Annotated[str, doc("its `index_checksum`, or null")] | None
    epochs: Annotated[int, doc("`max_epochs`")]
    checkpoint_epoch: Annotated[int, doc("epoch of the checkpoint (0-based), or null")] | None
    crop_size: Annotated[int, doc("crop size, pixels")] | None
    batch_size: Annotated[int, doc("batch size per device")] | None
    seed: Annotated[int, doc("the run's seed")] | None


@dataclass(frozen=True, config=SETTINGS)
class ModelCard:
    """A zoo entry: ``zoo/<dataset>/<method>/<name>/card.yaml``."""

    name: Annotated[FolderName, doc("the entry's name (its folder)")]
    dataset: Annotated[FolderName, doc("the folder of its pre-training data (see above)")]
    method: Annotated[FolderName, doc("the method (its folder)")]
    method_kwargs: Annotated[dict[str, Any], doc("the method's settings, from args.json")]
    backbone: Annotated[
        dict[str, Any],
        doc("`name`, `kwargs`, `stem` (`cifar` / `imagenet` for ResNets, else null)"),
    ]
    pretraining: Pretraining
    evaluations: Annotated[
        list[Evaluation],
        check(bool, "must list at least one protocol's metrics"),
        doc(
            "per protocol: `protocol` (all options from metrics.json), `metrics` and "
            "`metrics_std` (`all`, `many`, `medium`, `few`, `std`, in %), `file` (the copy of "
            "metrics.json beside the card)"
        ),
    ]
    weights: Weights
    args_sha256: Annotated[Sha256, doc("sha256 of args.json")]
    url: Annotated[str, doc("download URL of the weights, or null")] | None
    solo_learn_commit: Annotated[
        str,
        doc(
            "the solo-learn commit the run used, given to `zoo publish` (default: the commit "
            f"the plugin is built for, {SOLO_LEARN_COMMIT}): args.json does not record it"
        ),
    ]
    solo_tase_version: Annotated[str, doc("the plugin version that published it")]
    date: Annotated[str, doc("UTC time of publication, ISO 8601")]
    schema: Annotated[
        str, check(lambda s: s == CARD_SCHEMA, f"must be {CARD_SCHEMA!r}"), doc("the card format")
    ] = CARD_SCHEMA

    @classmethod
    def from_dict(cls, data: Any, where: str = "card") -> ModelCard:
        """Build and validate; errors name ``where`` and the offending key."""
        return parse(cls, data, where)


def save_card(card: ModelCard, folder: Path) -> Path:
    """Write ``folder/card.yaml`` (keys in declaration order)."""
    path = Path(folder) / CARD_NAME
    path.write_text(yaml.safe_dump(dataclasses.asdict(card), sort_keys=False, allow_unicode=True))
    return path


def load_card(path: str | Path) -> ModelCard:
    """Read a card file, or ``card.yaml`` inside an entry folder."""
    missing = (
        f"no model card at {path}: a zoo entry folder holds "
        f"{CARD_NAME} (written by `solo-tase zoo publish`)"
    )
    file, data = read_document(Path(path), missing, CARD_NAME)
    return ModelCard.from_dict(data, where=str(file))
