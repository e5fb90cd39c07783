"""``zoo publish``: turn a solo-learn run folder and its metrics into a zoo entry.

The entry ``<zoo>/<dataset>/<method>/<name>/`` gets the backbone-only weights (or, with
``full_checkpoint``, the run's checkpoint as is), a copy of ``args.json``, a copy of every
metrics file and ``card.yaml``; then the zoo README's table is regenerated. The card's
``solo_learn_commit`` is the commit the plugin supports unless the publisher says otherwise
(args.json does not record solo-learn's version).
"""

from __future__ import annotations

import shutil
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

import solo_tase
from solo_tase.eval.checkpoint import (ARGS_NAME, CIFAR_DATASETS, backbone_factories,
                                       backbone_state_dict, build_backbone, load_strict,
                                       sha256_file)
from solo_tase.solo_compat import SOLO_LEARN_COMMIT
from solo_tase.zoo.card import ModelCard, Pretraining, Weights, save_card
from solo_tase.zoo.dataset_name import DatasetId, check_name, identify_dataset
from solo_tase.zoo.listing import update_readme
from solo_tase.zoo.metrics_file import evaluation_of, metrics_file_name, read_metrics
from solo_tase.zoo.run_folder import SoloRun, arg, checkpoint_epoch, read_run
from solo_tase.zoo.store import DEFAULT_ZOO, iter_entries, write_entry
from solo_tase.zoo.weights import save_backbone


@dataclass(frozen=True)
class Published:
    """What ``publish`` wrote, and notes for the user (e.g. which checkpoint it picked)."""

    folder: Path
    card: ModelCard
    notes: list[str]


def checked_backbone(run: SoloRun) -> dict[str, torch.Tensor]:
    """The checkpoint's backbone tensors (names without ``backbone.``), after loading them
    strictly into the backbone that args.json describes, as ``solo-tase eval`` will."""
    state = backbone_state_dict(run.checkpoint)
    name = run.args["backbone"]["name"]
    use_solo = name not in backbone_factories(False)  # solo-learn's ResNets are torchvision's
    load_strict(build_backbone(run.args, use_solo), state, run.checkpoint, name)
    return state


def resnet_stem(args: dict[str, Any]) -> str | None:
    """The stem solo-learn gives a ResNet: ``cifar`` (3x3, no max-pool) or ``imagenet``."""
    if not str(arg(args, "backbone.name")).startswith("resnet"):
        return None
    return "cifar" if arg(args, "data.dataset") in CIFAR_DATASETS else "imagenet"


def check_inputs(metrics: Sequence[tuple[Path, dict[str, Any]]], args_sha: str,
                 checkpoint_shas: set[str]) -> None:
    """Metrics that name the sha256 of what they evaluated must have evaluated this run."""
    for path, data in metrics:
        inputs = data.get("inputs", {})
        if inputs.get("args_sha256") not in (None, args_sha):
            raise ValueError(f"{path} was computed with another args.json (inputs.args_sha256 "
                             f"{inputs['args_sha256']}, this run's is {args_sha})")
        if inputs.get("checkpoint_sha256") not in (None, *checkpoint_shas):
            raise ValueError(
                f"{path} was computed on another checkpoint ({inputs.get('checkpoint')}, sha256 "
                f"{inputs['checkpoint_sha256']}): evaluate the checkpoint you publish, or pass "
                "--checkpoint with the one that was evaluated"
            )


def check_url(url: str | None) -> None:
    if url is not None and not urllib.parse.urlparse(url).scheme:
        raise ValueError(f"--url {url!r} needs a scheme (https://..., file:///...)")


def pretraining_of(args: dict[str, Any], data: DatasetId, epoch: int | None) -> Pretraining:
    """The card's ``pretraining`` block from the run's args.json."""
    crops = arg(args, "augmentations")
    return Pretraining(
        data=str(arg(args, "data.dataset")), manifest=data.manifest,
        manifest_checksum=data.manifest_checksum, epochs=int(args["max_epochs"]),
        checkpoint_epoch=epoch,
        crop_size=crops[0].get("crop_size") if isinstance(crops, list) and crops else None,
        batch_size=arg(args, "optimizer.batch_size"), seed=arg(args, "seed"))


def publish(run_dir: str | Path, metrics: Sequence[str | Path], zoo: Path = DEFAULT_ZOO, *,
            url: str | None = None, name: str | None = None, dataset: str | None = None,
            checkpoint: str | Path | None = None, replace: bool = False,
            full_checkpoint: bool = False,
            solo_learn_commit: str = SOLO_LEARN_COMMIT) -> Published:
    """Write the zoo entry of a run (see the module docstring); returns what was written."""
    zoo = Path(zoo)
    run = read_run(run_dir, checkpoint)
    args = run.args
    notes = [run.note] if run.note else []
    name = check_name(name or str(args["name"]), "--name" if name else f"name in {run.args_path}")
    method = check_name(str(args["method"]), f"method in {run.args_path}")
    check_url(url)
    if not metrics:
        raise ValueError("give at least one --metrics file (metrics.json from `solo-tase eval`)")
    read = [read_metrics(p, args, run.args_path) for p in metrics]
    files = [metrics_file_name(d) for _, d in read]
    if len(set(files)) != len(files):
        raise ValueError(f"two metrics files have the same protocol ({files}): publish one "
                         "metrics file per protocol")
    data_id = identify_dataset(args, [d for _, d in read], dataset)
    notes.append(f"dataset folder {data_id.name!r} from {data_id.rule}")
    target = zoo / data_id.name / method / name
    if target.exists() and not replace:  # fail before the slow part; write_entry checks again
        raise FileExistsError(f"{target} is already published: choose another --name or pass "
                              "--replace to overwrite it")

    backbone = checked_backbone(run)
    epoch = checkpoint_epoch(run.checkpoint)
    max_epochs = int(args["max_epochs"])
    if epoch is not None and epoch + 1 < max_epochs:
        notes.append(f"{run.checkpoint.name} is from epoch {epoch + 1} of max_epochs={max_epochs}"
                     ": the run did not finish (the card records checkpoint_epoch)")
    source_sha, args_sha = sha256_file(run.checkpoint), sha256_file(run.args_path)
    weights_file = name + (run.checkpoint.suffix if full_checkpoint else ".pth")
    made: list[ModelCard] = []

    def fill(tmp: Path) -> None:
        if full_checkpoint:
            shutil.copyfile(run.checkpoint, tmp / weights_file)
        else:
            save_backbone(backbone, tmp / weights_file)
        sha = sha256_file(tmp / weights_file)
        check_inputs(read, args_sha, {source_sha, sha})
        shutil.copyfile(run.args_path, tmp / ARGS_NAME)
        for (path, _), file in zip(read, files):
            shutil.copyfile(path, tmp / file)
        card = ModelCard(
            name=name, dataset=data_id.name, method=method,
            method_kwargs=dict(arg(args, "method_kwargs") or {}),
            backbone={"name": arg(args, "backbone.name"),
                      "kwargs": dict(arg(args, "backbone.kwargs") or {}),
                      "stem": resnet_stem(args)},
            pretraining=pretraining_of(args, data_id, epoch),
            evaluations=[evaluation_of(d, f) for (_, d), f in zip(read, files)],
            weights=Weights(file=weights_file, kind="checkpoint" if full_checkpoint else "backbone",
                            sha256=sha, size=(tmp / weights_file).stat().st_size,
                            source_checkpoint=run.checkpoint.name, source_sha256=source_sha),
            args_sha256=args_sha, url=url, solo_learn_commit=solo_learn_commit,
            solo_tase_version=solo_tase.__version__,
            date=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        card.validate(str(tmp))
        save_card(card, tmp)
        made.append(card)

    folder = write_entry(target, fill, replace=replace)
    update_readme(zoo, [c for _, c in iter_entries(zoo)])
    return Published(folder=folder, card=made[0], notes=notes)
