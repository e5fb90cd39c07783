"""The model card (``card.yaml``): what a zoo entry claims about its weights.

A card records the method and its settings, the backbone, the pre-training data (manifest name
and checksum, epochs), one evaluation per protocol (accuracies in %), the weights file (sha256,
size in bytes), the versions (solo-learn commit, plugin) and the publication date. Cards are
plain YAML so that they read well in a diff; :func:`load_card` refuses unknown or missing keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

CARD_NAME = "card.yaml"
CARD_SCHEMA = "solo-tase/model-card/v1"
METRIC_KEYS = ("all", "many", "medium", "few", "std")
WEIGHT_KINDS = ("backbone", "checkpoint")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Weights:
    """The published weights file, beside the card."""

    file: str  # file name, e.g. "tase-digits-lt.pth"
    kind: str  # "backbone": backbone-only fp32 state dict; "checkpoint": the run's file as is
    sha256: str
    size: int  # bytes
    source_checkpoint: str  # file name of the run's checkpoint it came from
    source_sha256: str


@dataclass(frozen=True)
class Evaluation:
    """One row of the metrics table: a protocol and its accuracies (%) from ``solo-tase eval``."""

    protocol: dict[str, Any]  # metrics.json "protocol": name, shots, fraction, seeds, ...
    metrics: dict[str, float]  # all / many / medium / few / std, in %
    metrics_std: dict[str, float] | None  # the same keys, std over seeds (%), or None
    file: str  # the copy of metrics.json beside the card


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class ModelCard:
    """A zoo entry: ``zoo/<dataset>/<method>/<name>/card.yaml``."""

    name: str
    dataset: str  # zoo folder name of the pre-training data (docs/zoo.md gives the rule)
    method: str
    method_kwargs: dict[str, Any]
    backbone: dict[str, Any]  # name, kwargs, stem ("cifar" | "imagenet" | None)
    pretraining: Pretraining
    evaluations: list[Evaluation]
    weights: Weights
    args_sha256: str  # of the run's args.json (copied beside the card)
    url: str | None  # where `solo-tase zoo fetch` downloads the weights from
    solo_learn_commit: str
    solo_tase_version: str
    date: str  # ISO 8601, UTC
    schema: str = CARD_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "card") -> "ModelCard":
        """Build and validate; errors name ``where`` and the offending key."""
        d = _checked_keys(cls, data, where)
        evaluations = d.get("evaluations")
        if not isinstance(evaluations, list):
            raise ValueError(f"{where}: evaluations must be a list (got {evaluations!r})")
        d["pretraining"] = Pretraining(**_checked_keys(Pretraining, d["pretraining"],
                                                       f"{where}: pretraining"))
        d["weights"] = Weights(**_checked_keys(Weights, d["weights"], f"{where}: weights"))
        d["evaluations"] = [
            Evaluation(**_checked_keys(Evaluation, e, f"{where}: evaluations[{i}]"))
            for i, e in enumerate(evaluations)
        ]
        card = cls(**d)
        card.validate(where)
        return card

    def validate(self, where: str = "card") -> None:
        """Raise ``ValueError`` naming the first bad value."""
        if self.schema != CARD_SCHEMA:
            raise ValueError(f"{where}: schema must be {CARD_SCHEMA!r} (got {self.schema!r})")
        w = self.weights
        if w.kind not in WEIGHT_KINDS:
            raise ValueError(f"{where}: weights.kind must be one of {WEIGHT_KINDS} (got {w.kind!r})")
        for key, value in (("weights.sha256", w.sha256), ("weights.source_sha256", w.source_sha256),
                           ("args_sha256", self.args_sha256)):
            if not (isinstance(value, str) and _SHA256.fullmatch(value)):
                raise ValueError(f"{where}: {key} must be 64 lowercase hex digits (got {value!r})")
        if not (isinstance(w.size, int) and w.size > 0):
            raise ValueError(f"{where}: weights.size must be a positive number of bytes "
                             f"(got {w.size!r})")
        if Path(w.file).name != w.file or w.file.startswith("."):
            raise ValueError(f"{where}: weights.file must be a plain file name (got {w.file!r})")
        if not self.evaluations:
            raise ValueError(f"{where}: evaluations must list at least one protocol's metrics")
        for i, e in enumerate(self.evaluations):
            check_metrics(e.metrics, f"{where}: evaluations[{i}].metrics")
            if e.metrics_std is not None:
                check_metrics(e.metrics_std, f"{where}: evaluations[{i}].metrics_std")
            if "name" not in e.protocol:
                raise ValueError(f"{where}: evaluations[{i}].protocol has no 'name'")


def check_metrics(metrics: Any, where: str) -> None:
    """``metrics`` must map each of all/many/medium/few/std to a percentage in [0, 100]."""
    if not isinstance(metrics, Mapping):
        raise ValueError(f"{where} must be a mapping of {list(METRIC_KEYS)} (got {metrics!r})")
    for key in METRIC_KEYS:
        value = metrics.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise ValueError(f"{where}.{key} must be a percentage in [0, 100] (got {value!r})")


def _checked_keys(cls: type, data: Any, where: str) -> dict[str, Any]:
    """``data`` as a dict holding every required field of dataclass ``cls`` and nothing else."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a mapping (got {type(data).__name__})")
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING}
    missing, unknown = sorted(required - set(data)), sorted(set(data) - names)
    if missing or unknown:
        raise ValueError(f"{where}: missing keys {missing}, unknown keys {unknown}; "
                         f"expected {sorted(names)}")
    return dict(data)


def save_card(card: ModelCard, folder: Path) -> Path:
    """Write ``folder/card.yaml`` (keys in declaration order)."""
    path = Path(folder) / CARD_NAME
    path.write_text(yaml.safe_dump(card.to_dict(), sort_keys=False, allow_unicode=True))
    return path


def load_card(path: str | Path) -> ModelCard:
    """Read a card file, or ``card.yaml`` inside an entry folder."""
    path = Path(path)
    if path.is_dir():
        path = path / CARD_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no model card at {path}: a zoo entry folder holds {CARD_NAME} "
                                "(written by `solo-tase zoo publish`)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML: {err}") from None
    return ModelCard.from_dict(data, where=str(path))
