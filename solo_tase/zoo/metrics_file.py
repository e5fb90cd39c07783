"""The ``metrics.json`` files a card cites: read with ``solo-tase eval``'s reader, then checked
against the run being published (same ``method`` and ``name``, accuracies in %)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from solo_tase.eval.report import METRICS_FILE, load_metrics, protocol_label
from solo_tase.zoo.card import METRIC_KEYS, Evaluation, check_metrics


def read_metrics(path: str | Path, args: dict[str, Any],
                 args_path: Path) -> tuple[Path, dict[str, Any]]:
    """(file, document) of the metrics at ``path`` (a file or an eval result folder), checked
    to belong to the run whose config ``args`` was read from ``args_path``."""
    path = Path(path)
    data = load_metrics(path)
    for key, arg_key in (("method", "method"), ("run_name", "name")):
        if data.get(key) != args[arg_key]:
            raise ValueError(
                f"{path} is for {key} {data.get(key)!r} but the run's {args_path} has "
                f"{arg_key} {args[arg_key]!r}: pass the metrics of this run (evaluate its "
                "checkpoint with `solo-tase eval`) or the run folder these metrics came from"
            )
    if not isinstance(data.get("protocol"), dict) or not data["protocol"].get("name"):
        raise ValueError(f"{path}: protocol must be an object with a 'name'")
    check_metrics(data.get("metrics"), f"{path}: metrics")
    if data.get("metrics_std") is not None:
        check_metrics(data["metrics_std"], f"{path}: metrics_std")
    return (path / METRICS_FILE if path.is_dir() else path), data


def metrics_file_name(data: dict[str, Any]) -> str:
    """Name of the copy beside the card: ``linear 1% per class`` -> ``metrics-linear-1pct-per-
    class.json``, ``knn k=20`` -> ``metrics-knn-k20.json``."""
    label = protocol_label(data).replace("%", "pct").replace("=", "")
    return "metrics-" + "-".join(label.split()) + ".json"


def evaluation_of(data: dict[str, Any], file: str) -> Evaluation:
    """The card row for a checked metrics document whose copy is saved as ``file``."""
    def percentages(table: dict[str, Any]) -> dict[str, float]:
        return {k: float(table[k]) for k in METRIC_KEYS}

    std = data.get("metrics_std")
    return Evaluation(protocol=dict(data["protocol"]), metrics=percentages(data["metrics"]),
                      metrics_std=None if std is None else percentages(std), file=file)
