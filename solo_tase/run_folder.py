"""A solo-learn run folder: the newest Checkpointer folder of a run, its checkpoint (the only
one, or the latest epoch) and the ``args.json`` beside it; read by ``zoo publish``, the demo, the
benchmarks and the reproduction recipes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo_tase.errors import InputError
from solo_tase.utils.documents import dotted, read_document

ARGS_NAME = "args.json"
REQUIRED_ARGS = ("backbone.name", "data.dataset", "method", "name")
CHECKPOINT_SUFFIXES = (".ckpt", ".pth", ".pt")
STATS_FILE = "solo_tase_stats.jsonl"  # per-epoch JSON lines of the plugin's methods


@dataclass(frozen=True)
class SoloRun:
    args: dict[str, Any]
    args_path: Path
    checkpoint: Path
    note: str | None  # how the checkpoint was chosen among several, for the user


def read_run_args(checkpoint: Path) -> tuple[dict[str, Any], Path]:
    """The run config (``args.json`` beside ``checkpoint``) and its path."""
    args_path = checkpoint.parent / ARGS_NAME
    _, args = read_document(
        args_path,
        (
            f"no {ARGS_NAME} beside {checkpoint}: the backbone, stem, dataset, crop size and "
            "normalisation are read from the run's args.json, which solo-learn writes next to "
            f"its checkpoints; copy that run's args.json into {checkpoint.parent}"
        ),
    )
    for key in REQUIRED_ARGS:
        if dotted(args, key) in (None, ""):
            raise InputError(
                f"{args_path} has no '{key}': it is not a solo-learn run config "
                "(use the args.json solo-learn wrote for this checkpoint)"
            )
    return args, args_path


def checkpoint_epoch(path: Path) -> int | None:
    """Epoch in a solo-learn checkpoint name (``...-ep=12.ckpt`` -> 12), else None."""
    found = re.findall(r"ep=(\d+)", path.stem)
    return int(found[-1]) if found else None


def choose_checkpoint(folder: Path) -> tuple[Path, str | None]:
    """The run's checkpoint: the only one, or the latest epoch (with a note saying so)."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in CHECKPOINT_SUFFIXES)
    if not found:
        raise FileNotFoundError(
            f"no checkpoint ({', '.join('*' + s for s in CHECKPOINT_SUFFIXES)}) in {folder}: "
            "train with checkpoint.enabled=True or pass --checkpoint PATH"
        )
    if len(found) == 1:
        return found[0], None
    epochs = {p: checkpoint_epoch(p) for p in found}
    if unnamed := [p.name for p, e in epochs.items() if e is None]:
        raise InputError(
            f"{folder} holds several checkpoints and {unnamed} carry no epoch "
            "(ep=N) in their name: pass --checkpoint PATH to choose one"
        )
    latest = max(e for e in epochs.values() if e is not None)
    best = [p for p, e in epochs.items() if e == latest]
    if len(best) > 1:
        raise InputError(
            f"{folder} holds several checkpoints of epoch {latest} "
            f"({[p.name for p in best]}): pass --checkpoint PATH to choose one"
        )
    return best[0], (
        f"{len(found)} checkpoints in {folder}; publishing the latest epoch, "
        f"{best[0].name} (pass --checkpoint PATH for another)"
    )


def read_run(path: str | Path, checkpoint: str | Path | None = None) -> SoloRun:
    """A run folder (or a checkpoint file in one; ``checkpoint`` overrides the choice), with the
    ``args.json`` beside the checkpoint, as ``solo-tase eval`` reads it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"run folder {path} does not exist")
    folder = path.parent if path.is_file() else path
    checkpoint = path if path.is_file() and checkpoint is None else checkpoint
    note = None
    if checkpoint is None:
        chosen, note = choose_checkpoint(folder)
    else:
        chosen = Path(checkpoint)
        chosen = folder / chosen if not chosen.is_file() and (folder / chosen).is_file() else chosen
        if not chosen.is_file():
            raise FileNotFoundError(
                f"--checkpoint {checkpoint} is not a file (looked in the "
                f"current folder and in {folder})"
            )
    args, args_path = read_run_args(chosen)
    if not isinstance(args.get("max_epochs"), int):
        raise InputError(
            f"{args_path} has no integer 'max_epochs': it is not a solo-learn "
            "pre-training config (use the args.json solo-learn wrote for this run)"
        )
    return SoloRun(args=args, args_path=args_path, checkpoint=chosen, note=note)


def run_folder(out_dir: Path, method: str) -> Path:
    """The newest solo-learn Checkpointer folder ``<out>/<method>/<version>``."""
    folders = sorted(
        (p for p in (out_dir / method).glob("*") if (p / ARGS_NAME).is_file()),
        key=lambda p: (p / ARGS_NAME).stat().st_mtime,
    )
    if not folders:
        raise FileNotFoundError(f"no run folder with {ARGS_NAME} under {out_dir / method}")
    return folders[-1]


def last_checkpoint(folder: Path) -> Path:
    """The run folder's checkpoint as ``zoo publish`` picks it (``choose_checkpoint``)."""
    return choose_checkpoint(folder)[0]
