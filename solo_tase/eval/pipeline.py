"""One evaluation end to end: a request is resolved into a plan (``plan.py``), then executed here:
frozen features -> the plan's predictor per run -> the ``metrics.json`` document (schema
``solo-tase/metrics/v1``, accuracies in %).

The metrics are the mean over the runs and ``metrics_std`` their population std. Predictors:
``knn``, ``adam`` (the BCL/GH linear probe on cached features, optionally of one augmented pass)
and ``sdclr-sgd`` (SDCLR's SGD probe on images augmented every epoch, its epoch chosen on a
held-out set)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import Subset

import solo_tase
from solo_tase.eval.features import Extractor, resolve_device
from solo_tase.eval.knn import knn_predict
from solo_tase.eval.metrics import GroupMetrics, group_metrics, summarize
from solo_tase.eval.plan import EvalPlan, ProbeRun, plan_evaluation
from solo_tase.eval.probe import linear_probe_predict
from solo_tase.eval.request import EvalRequest
from solo_tase.eval.sgd_probe import fit_sgd_probe

METRICS_SCHEMA = "solo-tase/metrics/v1"
Log = Callable[[str], None]
Predict = Callable[[ProbeRun], tuple[torch.Tensor, dict[str, Any]]]  # labels [M], run record


def evaluate(req: EvalRequest, *, use_solo: bool | None = None, log: Log = lambda _: None) -> dict:
    """Run the evaluation ``req`` describes and return its ``metrics.json`` document."""
    plan = plan_evaluation(req, use_solo)
    backbone = plan.backbone
    name = backbone.args["backbone"]["name"]
    log(f"backbone {name} ({backbone.registry}) from {backbone.checkpoint}")
    log(f"groups of manifest {plan.manifest_path} ({plan.manifest_source})")
    extract = Extractor(
        backbone.module,
        backbone.checkpoint_sha256,
        resolve_device(req.device),
        req.extract_batch_size,
        req.num_workers,
        req.cache_dir,
        log,
    )
    predict = predictor(plan, extract, log)
    results, records = [], []
    for number, run in enumerate(plan.runs, start=1):
        pred, info = predict(run)
        results.append(group_metrics(pred.cpu().numpy(), plan.test.targets, plan.manifest.groups))
        records.append(run_record(run, results[-1], info))
        tag = f", {run.indices_file.name}" if run.indices_file else ""
        log(
            f"run {number}/{len(plan.runs)} (seed {run.seed}{tag}): All {results[-1].all:.2f}% "
            f"with {len(run.positions)} probe images"
        )
    return metrics_document(plan, results, records)


def predictor(plan: EvalPlan, extract: Extractor, log: Log) -> Predict:
    """The plan's predictor, its features extracted: test labels [M] of a run's probe."""
    test = extract(plan.test, "test", plan.views.test_description).x.to(extract.device)
    num_classes, req = len(plan.probe.classes), plan.request
    if plan.predictor == "sdclr-sgd":
        return sgd_predictor(plan, extract, test, log)
    seed = req.seeds[0] if plan.views.augmented else None  # one augmented pass: first seed
    probe = extract(plan.train, "probe", plan.views.train_description, seed)

    def predict(run: ProbeRun) -> tuple[torch.Tensor, dict[str, Any]]:
        idx = torch.from_numpy(run.positions)
        x, y = probe.x[idx].to(extract.device), probe.y[idx].to(extract.device)
        if plan.predictor == "knn":
            return knn_predict(x, y, test, num_classes, req.knn), {}
        return linear_probe_predict(x, y, test, num_classes, req.probe, run.seed), {}

    return predict


def sgd_predictor(plan: EvalPlan, extract: Extractor, test: torch.Tensor, log: Log) -> Predict:
    """The sdclr-sgd recipe: per run, SGD on the augmented probe images, the epoch chosen on
    the plan's held-out set, then test predictions."""
    assert plan.held_out is not None
    val = extract(plan.held_out, "held-out", plan.views.test_description)
    backbone, req = plan.backbone.module, plan.request

    def predict(run: ProbeRun) -> tuple[torch.Tensor, dict[str, Any]]:
        images = Subset(plan.train.dataset, run.positions.tolist())
        classes = len(plan.probe.classes)
        clf, info = fit_sgd_probe(
            backbone,
            images,
            val.x,
            val.y,
            classes,
            req.sgd,
            seed=run.seed,
            device=extract.device,
            num_workers=req.num_workers,
        )
        log(
            f"sdclr-sgd: best held-out accuracy {info['val_accuracy']:.2f}% at epoch "
            f"{info['best_epoch']}"
        )
        with torch.no_grad():
            pred = clf(test).argmax(dim=1)
        return pred, {"best_epoch": info["best_epoch"], "val_accuracy": info["val_accuracy"]}

    return predict


def run_record(run: ProbeRun, result: GroupMetrics, info: dict[str, Any]) -> dict[str, Any]:
    """A run's entry of ``metrics.json`` ``runs``."""
    return {
        "seed": run.seed,
        "probe_images": len(run.positions),
        "probe_indices": str(run.indices_file) if run.indices_file else None,
        "all": result.all,
        **info,
    }


def metrics_document(
    plan: EvalPlan, results: list[GroupMetrics], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``metrics.json`` document of an executed plan."""
    mean, std, per_class = summarize(results)
    backbone, manifest = plan.backbone, plan.manifest
    return {
        "schema": METRICS_SCHEMA,
        "method": backbone.args["method"],
        "run_name": backbone.args["name"],
        "protocol": plan.request.protocol_record(plan.probe, plan.test),
        "metrics": mean,
        "metrics_std": std,
        "runs": records,
        "per_class": [
            {"class": n, "train_count": c, "group": g, "accuracy": a}
            for n, c, g, a in zip(manifest.class_names, manifest.counts, manifest.groups, per_class)
        ],
        "inputs": {
            "checkpoint": str(backbone.checkpoint.resolve()),
            "checkpoint_sha256": backbone.checkpoint_sha256,
            "args_sha256": backbone.args_sha256,
            "manifest": str(plan.manifest_path.resolve()),
            "manifest_checksum": manifest.index_checksum,
            "regrouped": plan.request.regroup_manifest is not None,  # not the run's own groups
            "probe_set": plan.probe.description,
            "test_set": plan.test.description,
            "transform": plan.views.test_description,
        },
        "versions": {
            "solo_tase": solo_tase.__version__,
            "torch": torch.__version__,
            "solo_learn": solo_learn_version(),
        },
    }


def solo_learn_version() -> str:
    try:
        return importlib.metadata.version("solo-learn")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
