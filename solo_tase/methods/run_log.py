"""A method's records in its run folder: the folder solo-learn's Checkpointer writes to and the
per-epoch JSON lines (``solo_tase_stats.jsonl``) that ``solo-tase diagnostics`` reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from solo_tase.run_folder import STATS_FILE

__all__ = ["STATS_FILE", "append_stats", "run_dir"]


def run_dir(trainer: Any) -> Path | None:
    """Folder where solo-learn's Checkpointer writes args.json and checkpoints, if any."""
    for cb in getattr(trainer, "callbacks", []):
        path = getattr(cb, "path", None)
        if path is not None and hasattr(cb, "ckpt_placeholder"):
            return Path(path)
    return None


def append_stats(trainer: Any, filename: str, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line to ``<run dir>/<filename>`` (rank 0, if a run dir)."""
    folder = run_dir(trainer)
    if folder is None or not getattr(trainer, "is_global_zero", True):
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / filename, "a") as f:
        f.write(json.dumps(record) + "\n")
