"""A solo-learn run folder as ``zoo publish`` reads it: its checkpoint, its ``args.json`` and the
name of its pre-training data (docs/zoo.md gives the rules)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.eval.checkpoint import read_run_args
from solo_tase.eval.pipeline import resolve_manifest
from solo_tase.utils.documents import dotted

CHECKPOINT_SUFFIXES = (".ckpt", ".pth", ".pt")


@dataclass(frozen=True)
class SoloRun:
    args: dict[str, Any]
    args_path: Path
    checkpoint: Path
    note: str | None  # how the checkpoint was chosen among several, for the user


@dataclass(frozen=True)
class DatasetId:
    name: str  # the zoo folder name
    manifest: str | None  # the manifest's name, if one was found
    manifest_checksum: str | None
    rule: str  # where the name came from, for the user


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
        raise ValueError(
            f"{folder} holds several checkpoints and {unnamed} carry no epoch "
            "(ep=N) in their name: pass --checkpoint PATH to choose one"
        )
    latest = max(e for e in epochs.values() if e is not None)
    best = [p for p, e in epochs.items() if e == latest]
    if len(best) > 1:
        raise ValueError(
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
        raise ValueError(
            f"{args_path} has no integer 'max_epochs': it is not a solo-learn "
            "pre-training config (use the args.json solo-learn wrote for this run)"
        )
    return SoloRun(args=args, args_path=args_path, checkpoint=chosen, note=note)


def check_name(value: str, what: str) -> str:
    """``value`` if it is a safe folder name (letters, digits, ``.``, ``_``, ``-``)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value or ""):
        raise ValueError(
            f"{what} {value!r} is not a usable folder name: use letters, digits, "
            "'.', '_' and '-', starting with a letter or digit"
        )
    return value


def identify_dataset(
    args: dict[str, Any], metrics: Sequence[dict[str, Any]], override: str | None = None
) -> DatasetId:
    """The zoo folder name of the run's pre-training data (``override``, else its manifest's
    name, else ``data.dataset``) and the manifest checksum the metrics and manifest agree on."""
    sums = {c for d in metrics if (c := dotted(d, "inputs.manifest_checksum"))}
    if len(sums) > 1:
        raise ValueError(
            f"the metrics files were computed on different data manifests "
            f"(inputs.manifest_checksum {sorted(sums)}): publish metrics of one run"
        )
    checksum = sums.pop() if sums else None
    looked: list[Path] = []  # where a run without data.long_tail may keep its manifest
    try:
        path: Path | None = resolve_manifest(None, args)
    except FileNotFoundError:
        train = dotted(args, "data.train_path")
        if isinstance(train, str) and train:
            looked = [Path(train) / MANIFEST_NAME, Path(train).parent / MANIFEST_NAME]
        looked += [Path(m) for d in metrics if isinstance(m := dotted(d, "inputs.manifest"), str)]
        path = next((p for p in looked if p.is_file()), None)
    name = None
    if path is not None:
        manifest = Manifest.load(path)
        name, checksum = manifest.name, checksum or manifest.index_checksum
        if checksum != manifest.index_checksum:
            raise ValueError(
                f"the metrics' inputs.manifest_checksum {checksum} does not match the "
                f"run's manifest {path} (index_checksum {manifest.index_checksum}): "
                "the model was evaluated on other data than it was trained on"
            )
    if override:
        return DatasetId(check_name(override, "--dataset"), name, checksum, "--dataset")
    if name:
        return DatasetId(
            check_name(name, f"the manifest name in {path}"), name, checksum, f"manifest {path}"
        )
    data = str(dotted(args, "data.dataset"))
    if dotted(args, "data.long_tail") is not None or data == "custom":
        why = "is long-tailed (data.long_tail)" if data != "custom" else "uses custom data"
        raise ValueError(
            f"the run {why} but no data manifest was found (looked at "
            f"data.long_tail and {[str(p) for p in looked]}): pass --dataset NAME"
        )
    return DatasetId(check_name(data, "data.dataset"), None, checksum, "data.dataset")
