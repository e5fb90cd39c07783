"""The zoo folder name of a run's pre-training data (docs/zoo.md gives the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo_tase.data.manifest import Manifest
from solo_tase.errors import InputError
from solo_tase.run_folder import ARGS_NAME, MANIFEST_PLACES, run_manifest
from solo_tase.utils.documents import dotted
from solo_tase.zoo.card import FOLDER_NAME_RULE, is_folder_name


@dataclass(frozen=True)
class DatasetId:
    name: str  # the zoo folder name
    manifest: str | None  # the manifest's name, if one was found
    manifest_checksum: str | None
    rule: str  # where the name came from, for the user


def check_name(value: str, what: str) -> str:
    """``value`` if it is a safe folder name (:func:`~solo_tase.zoo.card.is_folder_name`)."""
    if not is_folder_name(value):
        raise InputError(f"{what} {value!r} {FOLDER_NAME_RULE}")
    return value


def identify_dataset(
    args: dict[str, Any],
    metrics: Sequence[dict[str, Any]],
    override: str | None = None,
    where: str | Path = ARGS_NAME,
) -> DatasetId:
    """The zoo folder name of the run's pre-training data (``override``, else its manifest's
    name, else ``data.dataset``) and the manifest checksum the metrics and manifest agree on.
    The manifest is the run's own (``run_folder.run_manifest``; ``where`` names its args.json),
    else the one the metrics name."""
    sums = {c for d in metrics if (c := dotted(d, "inputs.manifest_checksum"))}
    if len(sums) > 1:
        raise InputError(
            f"the metrics files were computed on different data manifests "
            f"(inputs.manifest_checksum {sorted(sums)}): publish metrics of one run"
        )
    checksum = sums.pop() if sums else None
    run = run_manifest(args, where)
    looked = [Path(m) for d in metrics if isinstance(m := dotted(d, "inputs.manifest"), str)]
    path = run.path if run is not None else next((p for p in looked if p.is_file()), None)
    manifest = Manifest.load(path) if path is not None else None
    if manifest is not None and checksum not in (None, manifest.index_checksum):
        raise InputError(
            f"the metrics' inputs.manifest_checksum {checksum} does not match the run's manifest "
            f"{path} (index_checksum {manifest.index_checksum}): the model was evaluated on "
            "other data than it was trained on"
        )
    name, checksum = (manifest.name, manifest.index_checksum) if manifest else (None, checksum)
    if override:
        return DatasetId(override, name, checksum, "the dataset option")
    if name:
        rule = f"manifest {path}" + (f" ({run.source})" if run is not None else "")
        return DatasetId(check_name(name, f"the name of {rule}"), name, checksum, rule)
    data = str(dotted(args, "data.dataset"))
    if dotted(args, "data.long_tail") is not None or data == "custom":
        why = "is long-tailed (data.long_tail)" if data != "custom" else "uses custom data"
        raise InputError(
            f"the run {why} but no data manifest was found (looked at {MANIFEST_PLACES} of "
            f"{where}, and {[str(p) for p in looked]}): pass --dataset NAME"
        )
    return DatasetId(check_name(data, "data.dataset"), None, checksum, "data.dataset")
