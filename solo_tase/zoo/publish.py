"""``zoo publish``: a solo-learn run folder and its ``solo-tase eval`` metrics become a zoo entry
(weights, args.json, metrics copies, card.yaml; docs/zoo.md), and the README table is redone."""

from __future__ import annotations

import dataclasses
import shutil
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

import solo_tase
from solo_tase.eval.checkpoint import (
    CIFAR_DATASETS,
    STATE_PREFIX,
    backbone_factories,
    load_backbone,
)
from solo_tase.run_folder import ARGS_NAME, SoloRun, checkpoint_epoch, read_run
from solo_tase.eval.report import METRICS_FILE, load_metrics, protocol_label
from solo_tase.settings import parse
from solo_tase.solo_compat import SOLO_LEARN_COMMIT
from solo_tase.utils.atomic import build_folder_atomically, refuse_existing
from solo_tase.utils.documents import dotted
from solo_tase.utils.hashing import sha256_file
from solo_tase.zoo.card import Evaluation, ModelCard, save_card
from solo_tase.zoo.dataset_id import check_name, identify_dataset
from solo_tase.zoo.listing import update_readme
from solo_tase.zoo.store import DEFAULT_ZOO, iter_entries

MetricsRead = tuple[Path, dict[str, Any], Evaluation]  # file, document, card row


@dataclasses.dataclass(frozen=True)
class Published:
    folder: Path
    card: ModelCard
    notes: list[str]  # for the user, e.g. which checkpoint was picked


def read_metrics(path: str | Path, run: SoloRun) -> MetricsRead:
    """A ``solo-tase eval`` result (file or folder) of ``run``: its file, document and card row."""
    path = Path(path)
    data = load_metrics(path)
    for key, arg_key in (("method", "method"), ("run_name", "name")):
        if data.get(key) != run.args[arg_key]:
            raise ValueError(
                f"{path} is for {key} {data.get(key)!r} but the run's {run.args_path} has "
                f"{arg_key} {run.args[arg_key]!r}: pass the metrics of this run (evaluate its "
                "checkpoint with `solo-tase eval`) or the run folder these metrics came from"
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
            raise ValueError(
                f"{path} was computed with another args.json (inputs.args_sha256 "
                f"{inputs['args_sha256']}, this run's is {args_sha})"
            )
        if inputs.get("checkpoint_sha256") not in (None, *checkpoint_shas):
            raise ValueError(
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
    *,
    url: str | None = None,
    name: str | None = None,
    dataset: str | None = None,
    checkpoint: str | Path | None = None,
    replace: bool = False,
    full_checkpoint: bool = False,
    solo_learn_commit: str = SOLO_LEARN_COMMIT,
) -> Published:
    """Check a run and its metrics, write its zoo entry and return what was written."""
    run = read_run(run_dir, checkpoint)
    args, notes = run.args, [run.note] if run.note else []
    name = check_name(name or str(args["name"]), "--name" if name else f"name in {run.args_path}")
    method = check_name(str(args["method"]), f"method in {run.args_path}")
    if url is not None and not urllib.parse.urlparse(url).scheme:
        raise ValueError(f"--url {url!r} needs a scheme (https://..., file:///...)")
    if not metrics:
        raise ValueError("give at least one --metrics file (metrics.json from `solo-tase eval`)")
    read = [read_metrics(p, run) for p in metrics]
    files = [row.file for _, _, row in read]
    if len(set(files)) != len(files):
        raise ValueError(
            f"two metrics files have the same protocol ({files}): "
            "publish one metrics file per protocol"
        )
    data_id = identify_dataset(args, [d for _, d, _ in read], dataset)
    notes.append(f"dataset folder {data_id.name!r} from {data_id.rule}")
    target = Path(zoo) / data_id.name / method / name
    refuse_existing(target, replace, "--name")  # before the slow part

    # loaded strictly, as `solo-tase eval` will; solo-learn's ResNets are torchvision's
    backbone = load_backbone(
        run.checkpoint, args["backbone"]["name"] not in backbone_factories(False)
    )
    epoch, max_epochs = checkpoint_epoch(run.checkpoint), int(args["max_epochs"])
    if epoch is not None and epoch + 1 < max_epochs:
        notes.append(
            f"{run.checkpoint.name} is from epoch {epoch + 1} of max_epochs={max_epochs}"
            ": the run did not finish (the card records checkpoint_epoch)"
        )
    crops, net = dotted(args, "augmentations"), str(dotted(args, "backbone.name"))
    # the stem solo-learn gives a ResNet
    cifar = dotted(args, "data.dataset") in CIFAR_DATASETS
    stem = ("cifar" if cifar else "imagenet") if net.startswith("resnet") else None
    card: dict[str, Any] = {
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
            "epochs": max_epochs,
            "checkpoint_epoch": epoch,
            "crop_size": crops[0].get("crop_size") if isinstance(crops, list) and crops else None,
            "batch_size": dotted(args, "optimizer.batch_size"),
            "seed": dotted(args, "seed"),
        },
        "evaluations": [dataclasses.asdict(row) for _, _, row in read],
        "weights": {
            "file": name + (run.checkpoint.suffix if full_checkpoint else ".pth"),
            "kind": "checkpoint" if full_checkpoint else "backbone",
            "source_checkpoint": run.checkpoint.name,
            "source_sha256": backbone.checkpoint_sha256,
        },
        "args_sha256": backbone.args_sha256,
        "url": url,
        "solo_learn_commit": solo_learn_commit,
        "solo_tase_version": solo_tase.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    made: list[ModelCard] = []

    def fill(tmp: Path) -> None:
        weights = tmp / card["weights"]["file"]
        if full_checkpoint:
            shutil.copyfile(run.checkpoint, weights)
        else:
            save_backbone(backbone.module.state_dict(), weights)
        sha = sha256_file(weights)
        check_inputs(read, backbone.args_sha256, {backbone.checkpoint_sha256, sha})
        shutil.copyfile(run.args_path, tmp / ARGS_NAME)
        for path, _, row in read:
            shutil.copyfile(path, tmp / row.file)
        card["weights"].update(sha256=sha, size=weights.stat().st_size)
        made.append(ModelCard.from_dict(card, where=str(tmp)))
        save_card(made[0], tmp)

    folder = build_folder_atomically(target, fill)
    update_readme(zoo, [c for _, c in iter_entries(zoo)])
    return Published(folder=folder, card=made[0], notes=notes)
