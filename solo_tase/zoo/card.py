"""The model card ``card.yaml``: what a zoo entry claims about its weights (docs/zoo.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, Field
from pydantic.dataclasses import dataclass

from solo_tase.settings import SETTINGS, check, parse, rule
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


@dataclass(frozen=True, config=SETTINGS)
class Weights:
    file: FileName  # beside the card
    kind: Annotated[Literal["backbone", "checkpoint"], rule("one of ('backbone', 'checkpoint')")]
    sha256: Sha256
    size: Annotated[int, Field(strict=True, gt=0), rule("a positive number of bytes")]
    source_checkpoint: str  # file name of the run's checkpoint
    source_sha256: Sha256


@dataclass(frozen=True, config=SETTINGS)
class Evaluation:
    protocol: Protocol
    metrics: Metrics
    metrics_std: Metrics | None  # std over seeds
    file: str  # the copy of metrics.json beside the card


@dataclass(frozen=True, config=SETTINGS)
class Pretraining:
    data: str  # data.dataset
    manifest: str | None
    manifest_checksum: str | None
    epochs: int  # max_epochs
    checkpoint_epoch: int | None  # 0-based
    crop_size: int | None  # pixels
    batch_size: int | None  # per device
    seed: int | None


@dataclass(frozen=True, config=SETTINGS)
class ModelCard:
    """A zoo entry: ``zoo/<dataset>/<method>/<name>/card.yaml``."""

    name: str
    dataset: str
    method: str
    method_kwargs: dict[str, Any]
    backbone: dict[str, Any]  # name, kwargs, stem ("cifar" | "imagenet" | None)
    pretraining: Pretraining
    evaluations: Annotated[
        list[Evaluation], check(bool, "must list at least one protocol's metrics")
    ]
    weights: Weights
    args_sha256: Sha256
    url: str | None
    solo_learn_commit: str
    solo_tase_version: str
    date: str  # ISO 8601, UTC
    schema: Annotated[str, check(lambda s: s == CARD_SCHEMA, f"must be {CARD_SCHEMA!r}")] = (
        CARD_SCHEMA
    )

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
