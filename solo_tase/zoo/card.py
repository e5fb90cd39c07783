"""The model card (``card.yaml``): what a zoo entry claims about its weights (docs/zoo.md).

Every field and its rule is declared here with the settings kit; :func:`load_card` refuses
unknown, missing or out-of-range keys, naming the file and the key.
"""

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
Metrics = Annotated[  # all / many / medium / few / std in %; other keys are dropped
    dict[str, Percent],
    BeforeValidator(lambda d: {k: d.get(k) for k in METRIC_KEYS} if isinstance(d, Mapping) else d),
]
Protocol = Annotated[  # metrics.json "protocol": name, shots, fraction, seeds, ...
    dict[str, Any], check(lambda p: bool(p.get("name")), "must be an object with a 'name'")
]


@dataclass(frozen=True, config=SETTINGS)
class Weights:
    """The published weights file, beside the card."""

    file: Annotated[
        str,
        check(lambda f: Path(f).name == f and not f.startswith("."), "must be a plain file name"),
    ]  # e.g. "tase-digits-lt.pth"
    # "backbone": backbone-only fp32 state dict; "checkpoint": the run's file as is
    kind: Annotated[Literal["backbone", "checkpoint"], rule("one of ('backbone', 'checkpoint')")]
    sha256: Sha256
    size: Annotated[int, Field(strict=True, gt=0), rule("a positive number of bytes")]
    source_checkpoint: str  # file name of the run's checkpoint it came from
    source_sha256: Sha256


@dataclass(frozen=True, config=SETTINGS)
class Evaluation:
    """One row of the metrics table: a protocol and its accuracies (%) from ``solo-tase eval``."""

    protocol: Protocol
    metrics: Metrics
    metrics_std: Metrics | None  # the same keys, std over seeds (%), or None
    file: str  # the copy of metrics.json beside the card


@dataclass(frozen=True, config=SETTINGS)
class Pretraining:
    """How the backbone was pre-trained (from the run's args.json and data manifest)."""

    data: str  # solo-learn's data.dataset ("cifar10", "custom", ...)
    manifest: str | None  # name of the long-tailed data manifest, if the run had one
    manifest_checksum: str | None  # its index checksum (the exact list of training images)
    epochs: int  # max_epochs of the run
    checkpoint_epoch: int | None  # 0-based epoch of the published checkpoint
    crop_size: int | None  # pixels (augmentations[0].crop_size)
    batch_size: int | None  # per device
    seed: int | None


@dataclass(frozen=True, config=SETTINGS)
class ModelCard:
    """A zoo entry: ``zoo/<dataset>/<method>/<name>/card.yaml``."""

    name: str
    dataset: str  # zoo folder name of the pre-training data (docs/zoo.md gives the rule)
    method: str
    method_kwargs: dict[str, Any]
    backbone: dict[str, Any]  # name, kwargs, stem ("cifar" | "imagenet" | None)
    pretraining: Pretraining
    evaluations: Annotated[
        list[Evaluation], check(bool, "must list at least one protocol's metrics")
    ]
    weights: Weights
    args_sha256: Sha256  # of the run's args.json (copied beside the card)
    url: str | None  # where `solo-tase zoo fetch` downloads the weights from
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
    file, data = read_document(
        Path(path),
        f"no model card at {path}: a zoo entry folder holds "
        f"{CARD_NAME} (written by `solo-tase zoo publish`)",
        CARD_NAME,
    )
    return ModelCard.from_dict(data, where=str(file))
