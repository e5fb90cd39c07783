"""``zoo publish``: a solo-learn run folder and its ``solo-tase eval`` metrics become a zoo entry
(weights, args.json, metrics copies, card.yaml; docs/zoo.md), and the README table is redone."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

import solo_tase
from solo_tase.errors import InputError
from solo_tase.eval.checkpoint import (
    CIFAR_DATASETS,
    STATE_PREFIX,
    LoadedBackbone,
    backbone_factories,
    load_backbone,
)
from solo_tase.eval.report import METRICS_FILE, load_metrics, protocol_label
from solo_tase.run_folder import ARGS_NAME, SoloRun, checkpoint_epoch, read_run, verify_run_data
from solo_tase.settings import parse
from solo_tase.utils.atomic import build_folder_atomically, refuse_existing
from solo_tase.utils.documents import dotted
from solo_tase.utils.hashing import sha256_file
from solo_tase.zoo.card import Evaluation, ModelCard, save_card
from solo_tase.zoo.dataset_id import DatasetId, check_name, identify_dataset
from solo_tase.zoo.listing import update_readme
from solo_tase.zoo.publish_options import PublishOptions
from solo_tase.zoo.store import DEFAULT_ZOO, iter_entries

MetricsRead = tuple[Path, dict[str, Any], Evaluation]  # file, document, card row
DEFAULT_OPTIONS = PublishOptions()


@dataclasses.dataclass(frozen=True)
class Published:
    folder: Path
    card: ModelCard
    notes: list[str]  # for the user, e.g. which checkpoint was picked


def read_metrics(path: str | Path, run: SoloRun) -> MetricsRead:
    """A ``solo-tase eval`` result (file or folder) of ``run``, with the groups of the run's own
    manifest: its file, document and card row."""
    path = Path(path)
    data = load_metrics(path)
    for key, arg_key in (("method", "method"), ("run_name", "name")):
        if data.get(key) != run.args[arg_key]:
            raise InputError(
                f"{path} is for {key} {data.get(key)!r} but the run's {run.args_path} has "
                f"{arg_key} {run.args[arg_key]!r}: pass the metrics of this run (evaluate its "
                "checkpoint with `solo-tase eval`) or the run folder these metrics came from"
            )
    if dotted(data, "inputs.regrouped"):
        raise InputError(
            f"{path} groups the classes by another manifest than the run's (--regroup-manifest "
            f"{dotted(data, 'inputs.manifest')}): publish metrics computed without it"
        )
    scores = {k: data.get(k) for k in ("protocol", "metrics", "metrics_std")}
    row = parse(Evaluation, {**scores, "file": METRICS_FILE}, str(path))
    # the copy's name: "linear 1%" -> metrics-linear-1pct.json, "knn k=20" -> metrics-knn-k20.json
    label = protocol_label({"protocol": row.protocol}).replace("%", "pct").replace("=", "")
    file = path / METRICS_FILE if path.is_dir() else path
    return file, data, dataclasses.replace(row, file="metrics-" + "-".join(label.split()) + ".json")


def check_inputs(metrics: Sequence[MetricsRead], args_sha: str, checkpoint_shas: set[str]) -> None:
    """Metrics that name the sha256 of what they evaluated must have evaluated this run."""
    for path, data, _ in metrics:
        inputs = data.get("inputs", {})
        if inputs.get("args_sha256") not in (None, args_sha):
            raise InputError(
                f"{path} was computed with another args.json (inputs.args_sha256 "
                f"{inputs['args_sha256']}, this run's is {args_sha})"
            )
        if inputs.get("checkpoint_sha256") not in (None, *checkpoint_shas):
            raise InputError(
                f"{path} was computed on another checkpoint ({inputs.get('checkpoint')}, sha256 "
                f"{inputs['checkpoint_sha256']}): evaluate the checkpoint you publish, or pass "
                "--checkpoint with the one that was evaluated"
            )


def save_backbone(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write backbone tensors as a zoo weights file: floats in fp32, integer buffers as they are."""
    out = {
        STATE_PREFIX + k: (v.float() if v.is_floating_point() else v).detach().contiguous()
        for k, v in state.items()
    }
    torch.save({"state_dict": out}, path)


def publish(
    run_dir: str | Path,
    metrics: Sequence[str | Path],
    zoo: Path = DEFAULT_ZOO,
    options: PublishOptions = DEFAULT_OPTIONS,
) -> Published:
    """Check a run and its metrics, write its zoo entry and return what was written."""
    run = read_run(run_dir, options.checkpoint)
    notes = [run.note] if run.note else []
    name = options.name or check_name(str(run.args["name"]), f"name in {run.args_path}")
    method = check_name(str(run.args["method"]), f"method in {run.args_path}")
    read = read_all_metrics(metrics, run)
    verify_run_data(run.args, run.args_path)  # never a card for a run on test images
    data_id = identify_dataset(run.args, [d for _, d, _ in read], options.dataset, run.args_path)
    notes.append(f"dataset folder {data_id.name!r} from {data_id.rule}")
    target = Path(zoo) / data_id.name / method / name
    refuse_existing(target, options.replace, "--name")  # before the slow part
    # loaded strictly, as `solo-tase eval` will; solo-learn's ResNets are torchvision's
    net = str(dotted(run.args, "backbone.name"))
    backbone = load_backbone(run.checkpoint, net not in backbone_factories(False))
    epoch, max_epochs = checkpoint_epoch(run.checkpoint), int(run.args["max_epochs"])
    if epoch is not None and epoch + 1 < max_epochs:
        notes.append(
            f"{run.checkpoint.name} is from epoch {epoch + 1} of max_epochs={max_epochs}"
            ": the run did not finish (the card records checkpoint_epoch)"
        )
    entry = Entry(run, read, backbone, options.full_checkpoint)
    card = card_fields(entry, data_id, name, method, options)
    made: list[ModelCard] = []
    folder = build_folder_atomically(target, lambda tmp: made.append(entry.write(tmp, card)))
    update_readme(zoo, [c for _, c in iter_entries(zoo)])
    return Published(folder=folder, card=made[0], notes=notes)


def read_all_metrics(metrics: Sequence[str | Path], run: SoloRun) -> list[MetricsRead]:
    """Every metrics file of ``run`` (at least one, one per protocol)."""
    if not metrics:
        raise InputError("give at least one --metrics file (metrics.json from `solo-tase eval`)")
    read = [read_metrics(p, run) for p in metrics]
    files = [row.file for _, _, row in read]
    if len(set(files)) != len(files):
        raise InputError(
            f"two metrics files have the same protocol ({files}): "
            "publish one metrics file per protocol"
        )
    return read


@dataclasses.dataclass(frozen=True)
class Entry:
    """What an entry's folder is written from: the run, its metrics, its loaded backbone, and
    whether the run's checkpoint is published as is."""

    run: SoloRun
    metrics: list[MetricsRead]
    backbone: LoadedBackbone
    full_checkpoint: bool

    def write(self, tmp: Path, card: dict[str, Any]) -> ModelCard:
        """Weights, args.json, the metrics copies and card.yaml (with the weights' sha256 and
        size) into the folder ``tmp``; the metrics must have evaluated these weights."""
        weights = tmp / card["weights"]["file"]
        if self.full_checkpoint:
            shutil.copyfile(self.run.checkpoint, weights)
        else:
            save_backbone(self.backbone.module.state_dict(), weights)
        sha = sha256_file(weights)
        check_inputs(
            self.metrics, self.backbone.args_sha256, {self.backbone.checkpoint_sha256, sha}
        )
        shutil.copyfile(self.run.args_path, tmp / ARGS_NAME)
        for path, _, row in self.metrics:
            shutil.copyfile(path, tmp / row.file)
        weighed = {**card["weights"], "sha256": sha, "size": weights.stat().st_size}
        made = ModelCard.from_dict({**card, "weights": weighed}, where=str(tmp))
        save_card(made, tmp)
        return made


def card_fields(
    entry: Entry, data_id: DatasetId, name: str, method: str, options: PublishOptions
) -> dict[str, Any]:
    """The card of ``entry`` but the weights' sha256 and size (known once they are written)."""
    args, checkpoint = entry.run.args, entry.run.checkpoint
    crops, net = dotted(args, "augmentations"), str(dotted(args, "backbone.name"))
    # the stem solo-learn gives a ResNet
    cifar = dotted(args, "data.dataset") in CIFAR_DATASETS
    stem = ("cifar" if cifar else "imagenet") if net.startswith("resnet") else None
    full = entry.full_checkpoint
    return {
        "name": name,
        "dataset": data_id.name,
        "method": method,
        "method_kwargs": dict(dotted(args, "method_kwargs") or {}),
        "backbone": {
            "name": net,
            "kwargs": dict(dotted(args, "backbone.kwargs") or {}),
            "stem": stem,
        },
        "pretraining": {
            "data": str(dotted(args, "data.dataset")),
            "manifest": data_id.manifest,
            "manifest_checksum": data_id.manifest_checksum,
            "epochs": int(args["max_epochs"]),
            "checkpoint_epoch": checkpoint_epoch(checkpoint),
            "crop_size": crops[0].get("crop_size") if isinstance(crops, list) and crops else None,
            "batch_size": dotted(args, "optimizer.batch_size"),
            "seed": dotted(args, "seed"),
        },
        "evaluations": [dataclasses.asdict(row) for _, _, row in entry.metrics],
        "weights": {
            "file": name + (checkpoint.suffix if full else ".pth"),
            "kind": "checkpoint" if full else "backbone",
            "source_checkpoint": checkpoint.name,
            "source_sha256": entry.backbone.checkpoint_sha256,
        },
        "args_sha256": entry.backbone.args_sha256,
        "url": options.url,
        "solo_learn_commit": options.solo_learn_commit,
        "solo_tase_version": solo_tase.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
