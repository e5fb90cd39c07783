"""Reading a solo-learn run folder: which checkpoint to publish, and its ``args.json``.

solo-learn's Checkpointer writes ``<checkpoint.dir>/<method>/<version>/`` holding ``args.json``
and ``<name>-<version>-ep=<epoch>.ckpt`` (one per saved epoch with ``keep_prev: True``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo_tase.eval.checkpoint import read_run_args

CHECKPOINT_SUFFIXES = (".ckpt", ".pth", ".pt")
_EPOCH = re.compile(r"ep=(\d+)")


@dataclass(frozen=True)
class SoloRun:
    """A run folder: its config and the chosen checkpoint."""

    folder: Path
    args: dict[str, Any]
    args_path: Path
    checkpoint: Path
    note: str | None  # how the checkpoint was chosen among several, for the user


def arg(args: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """``args["a"]["b"]`` for ``"a.b"``; ``default`` when a level is missing."""
    node: Any = args
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def checkpoint_epoch(path: Path) -> int | None:
    """Epoch in a solo-learn checkpoint name (``...-ep=12.ckpt`` -> 12), else None."""
    found = _EPOCH.findall(path.stem)
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
    unnamed = [p.name for p, e in epochs.items() if e is None]
    if unnamed:
        raise ValueError(f"{folder} holds several checkpoints and {unnamed} carry no epoch "
                         "(ep=N) in their name: pass --checkpoint PATH to choose one")
    latest = max(epochs.values())  # type: ignore[type-var]
    best = [p for p, e in epochs.items() if e == latest]
    if len(best) > 1:
        raise ValueError(f"{folder} holds several checkpoints of epoch {latest} "
                         f"({[p.name for p in best]}): pass --checkpoint PATH to choose one")
    note = (f"{len(found)} checkpoints in {folder}; publishing the latest epoch, {best[0].name} "
            "(pass --checkpoint PATH for another)")
    return best[0], note


def read_run(path: str | Path, checkpoint: str | Path | None = None) -> SoloRun:
    """Open a run folder (or a checkpoint file inside one); ``checkpoint`` overrides the choice.

    The config is the ``args.json`` beside the chosen checkpoint, as ``solo-tase eval`` reads it.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"run folder {path} does not exist")
    folder = path.parent if path.is_file() else path
    if path.is_file() and checkpoint is None:
        checkpoint = path
    note = None
    if checkpoint is None:
        chosen, note = choose_checkpoint(folder)
    else:
        chosen = Path(checkpoint)
        if not chosen.is_file() and (folder / chosen).is_file():
            chosen = folder / chosen
        if not chosen.is_file():
            raise FileNotFoundError(f"--checkpoint {checkpoint} is not a file (looked in the "
                                    f"current folder and in {folder})")
    args, args_path = read_run_args(chosen)
    if not isinstance(args.get("max_epochs"), int):
        raise ValueError(f"{args_path} has no integer 'max_epochs': it is not a solo-learn "
                         "pre-training config (use the args.json solo-learn wrote for this run)")
    return SoloRun(folder=folder, args=args, args_path=args_path, checkpoint=chosen, note=note)
