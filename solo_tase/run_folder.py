"""A solo-learn run folder: the newest Checkpointer folder of a run, its checkpoint (the only
one, or the latest epoch), the ``args.json`` beside it, and the data it was pre-trained on (its
manifest, its ``data.train_path`` checked against it); read by ``solo-tase eval``, ``zoo
publish``, the demo, the benchmarks and the reproduction recipes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo_tase.data.identity import (
    RECORDED_CHECKSUM,
    RECORDED_MANIFEST,
    find_manifest,
    verify_folder,
)
from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.errors import InputError
from solo_tase.utils.documents import dotted, read_document

ARGS_NAME = "args.json"
REQUIRED_ARGS = ("backbone.name", "data.dataset", "method", "name")
CHECKPOINT_SUFFIXES = (".ckpt", ".pth", ".pt")
STATS_FILE = "solo_tase_stats.jsonl"  # per-epoch JSON lines of the plugin's methods
# args.json keys naming the manifest of the run's data, in the order they are read: the in-place
# long tail (the block itself as a path, or its ``manifest`` key), then the built folder's
# manifest that the plugin records when the run starts
RECORDED_MANIFEST_KEY = f"data.{RECORDED_MANIFEST}"  # recorded with the manifest's index_checksum
RECORDED_CHECKSUM_KEY = f"data.{RECORDED_CHECKSUM}"
MANIFEST_KEYS = ("data.long_tail.manifest", "data.long_tail", RECORDED_MANIFEST_KEY)
MANIFEST_PLACES = (
    "data.long_tail.manifest or data.manifest of args.json, or manifest.json in or above "
    "data.train_path"
)


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


@dataclass(frozen=True)
class RunManifest:
    """The manifest of a run's pre-training data and where it was found (for the user)."""

    path: Path
    source: str  # "data.long_tail.manifest of <args.json>", "beside data.train_path <path>"
    key: str | None  # the args.json key that named it; None: found from data.train_path


def train_folder(args: Mapping[str, Any]) -> Path | None:
    """The run's ``data.train_path`` as a path (None when unset or a URL)."""
    train = dotted(args, "data.train_path")
    if not isinstance(train, str) or not train or "://" in train:
        return None
    return Path(train).expanduser()


def named_manifest(args: Mapping[str, Any], key: str) -> Path | None:
    """The manifest file the args.json key ``key`` names (a folder means its manifest.json),
    whether it exists or not; None when the key names no path."""
    named = dotted(args, key)
    if not isinstance(named, str) or not named:
        return None
    path = Path(named).expanduser()
    return path / MANIFEST_NAME if path.is_dir() else path


def run_manifest(args: Mapping[str, Any], where: str | Path = ARGS_NAME) -> RunManifest | None:
    """The manifest of the run's pre-training data, the first that exists of: the files the
    ``MANIFEST_KEYS`` of ``args`` name (a folder means its manifest.json), the manifest.json in
    or above ``data.train_path`` (``data.identity.find_manifest``); None when there is none.
    ``where`` names the args.json in ``source``."""
    for key in MANIFEST_KEYS:
        path = named_manifest(args, key)
        if path is not None and path.is_file():
            return RunManifest(path, f"{key} of {where}", key)
    train = train_folder(args)
    if train is not None:
        found = find_manifest(train)
        if found is not None:
            return RunManifest(Path(found), f"beside data.train_path {train}", None)
    return None


def verify_run_data(args: Mapping[str, Any], where: str | Path = ARGS_NAME) -> Manifest | None:
    """Refuse a run pre-trained on a dataset root (train/val/probe/test together) or on a built
    folder whose images differ from its manifest: ``data.train_path`` is checked with
    ``data.identity.verify_folder`` when it is a folder with a manifest in or above it (or one
    ``RECORDED_MANIFEST_KEY`` names), and must still hold the images of the index_checksum
    recorded as ``RECORDED_CHECKSUM_KEY``. Returns the verified manifest; None when there is
    nothing to check (no such folder here, or CIFAR's in-place long tail)."""
    train = train_folder(args)
    if train is None or not train.is_dir() or dotted(args, "data.long_tail") is not None:
        return None
    named = named_manifest(args, RECORDED_MANIFEST_KEY)
    if named is None and find_manifest(train) is None:
        return None
    try:
        manifest = verify_folder(train, named)
    except InputError as err:
        raise InputError(
            f"the run of {where} cannot be trusted: {err} (the run trained on that folder: "
            "pre-train again on a sound one)"
        ) from None
    recorded = dotted(args, RECORDED_CHECKSUM_KEY)
    if isinstance(recorded, str) and recorded and recorded != manifest.index_checksum:
        raise InputError(
            f"the run of {where} cannot be trusted: it trained on images of index_checksum "
            f"{recorded[:12]} ({RECORDED_CHECKSUM_KEY}) but data.train_path {train} now holds "
            f"{manifest.index_checksum[:12]} (rebuilt since): evaluate it on the data it was "
            "trained on, or pre-train again"
        )
    return manifest
