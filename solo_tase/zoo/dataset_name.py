"""Which data a run was pre-trained on, and the zoo folder name for it.

The name of ``zoo/<dataset>/<method>/<name>/`` is, first that applies:

1. ``--dataset NAME`` given to ``zoo publish``;
2. the ``name`` of the run's long-tailed data manifest (e.g. ``digits-lt-r10-s0``): the one
   ``data.long_tail`` names in args.json, else ``manifest.json`` in ``data.train_path`` or its
   parent (the Digits-LT layout), else the ``inputs.manifest`` of the metrics files;
3. ``data.dataset`` (``cifar10``, ``imagenet100``, ...), unless the run is long-tailed
   (``data.long_tail``) or ``custom``: then the manifest is required, or ``--dataset``.

The manifest checksum on the card is the metrics' ``inputs.manifest_checksum`` if they give one,
else the manifest's ``index_checksum``; when both exist they must agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.eval.pipeline import resolve_manifest
from solo_tase.zoo.run_folder import arg

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class DatasetId:
    """The pre-training data of a run as the card records it."""

    name: str  # zoo folder name
    manifest: str | None  # manifest name, if one was found
    manifest_checksum: str | None
    rule: str  # where the name came from, for the user


def check_name(value: str, what: str) -> str:
    """``value`` if it is a safe folder name (letters, digits, ``.``, ``_``, ``-``)."""
    if not _NAME.fullmatch(value or ""):
        raise ValueError(f"{what} {value!r} is not a usable folder name: use letters, digits, "
                         "'.', '_' and '-', starting with a letter or digit")
    return value


def _fallback_manifests(args: dict[str, Any], metrics: Sequence[dict[str, Any]]) -> list[Path]:
    """Where a run without ``data.long_tail`` keeps its manifest, then the metrics' manifests."""
    paths = []
    train = arg(args, "data.train_path")
    if isinstance(train, str) and train:
        paths += [Path(train) / MANIFEST_NAME, Path(train).parent / MANIFEST_NAME]
    return paths + [Path(m["inputs"]["manifest"]) for m in metrics
                    if isinstance(m.get("inputs", {}).get("manifest"), str)]


def find_manifest(args: dict[str, Any],
                  metrics: Sequence[dict[str, Any]]) -> tuple[Manifest, Path] | None:
    """The run's manifest: ``data.long_tail``'s (as ``solo-tase eval`` resolves it), else the
    first existing one of :func:`_fallback_manifests`; None if there is none."""
    try:
        path = resolve_manifest(None, args)
    except FileNotFoundError:
        path = next((p for p in _fallback_manifests(args, metrics) if p.is_file()), None)
    return None if path is None else (Manifest.load(path), path)


def metrics_checksum(metrics: Sequence[dict[str, Any]]) -> str | None:
    """The one ``inputs.manifest_checksum`` of the metrics files (they must agree), or None."""
    found = {m["inputs"]["manifest_checksum"] for m in metrics
             if m.get("inputs", {}).get("manifest_checksum")}
    if len(found) > 1:
        raise ValueError(f"the metrics files were computed on different data manifests "
                         f"(inputs.manifest_checksum {sorted(found)}): publish metrics of one run")
    return found.pop() if found else None


def identify_dataset(args: dict[str, Any], metrics: Sequence[dict[str, Any]],
                     override: str | None = None) -> DatasetId:
    """Name and manifest checksum of the run's pre-training data (rules in the module docstring)."""
    checksum = metrics_checksum(metrics)
    found = find_manifest(args, metrics)
    manifest_name = path = None
    if found is not None:
        manifest, path = found
        manifest_name = manifest.name
        if checksum is None:
            checksum = manifest.index_checksum
        elif checksum != manifest.index_checksum:
            raise ValueError(f"the metrics' inputs.manifest_checksum {checksum} does not match the "
                             f"run's manifest {path} (index_checksum {manifest.index_checksum}): "
                             "the model was evaluated on other data than it was trained on")
    if override:
        return DatasetId(check_name(override, "--dataset"), manifest_name, checksum, "--dataset")
    if manifest_name:
        return DatasetId(check_name(manifest_name, f"the manifest name in {path}"), manifest_name,
                         checksum, f"manifest {path}")
    data = str(arg(args, "data.dataset"))
    if arg(args, "data.long_tail") is not None or data == "custom":
        why = "is long-tailed (data.long_tail)" if data != "custom" else "uses custom data"
        raise ValueError(f"the run {why} but no data manifest was found (looked at "
                         f"data.long_tail and {[str(p) for p in _fallback_manifests(args, metrics)]}"
                         "): pass --dataset NAME")
    return DatasetId(check_name(data, "data.dataset"), None, checksum, "data.dataset")
