"""One evaluation end to end: checkpoint -> frozen features -> probe or kNN per seed -> the
``metrics.json`` document (schema ``solo-tase/metrics/v1``, accuracies in %)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import solo_tase
from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.data.writer import class_dir_names
from solo_tase.eval.checkpoint import LoadedBackbone, load_backbone, sha256_file
from solo_tase.eval.datasets import EvalSet, open_set, require_every_class
from solo_tase.eval.features import Features, cached_features, extract_features, resolve_device
from solo_tase.eval.fewshot import balanced_subset
from solo_tase.eval.knn import KnnOptions, knn_predict
from solo_tase.eval.metrics import group_metrics, summarize
from solo_tase.eval.probe import ProbeOptions, linear_probe_predict
from solo_tase.eval.transforms import eval_transform
from solo_tase.methods.config import require

METRICS_SCHEMA = "solo-tase/metrics/v1"
PROTOCOLS = ("linear", "knn")


@dataclass(frozen=True)
class EvalRequest:
    """Everything ``solo-tase eval`` is asked to do (paths, protocol and its options)."""

    checkpoint: Path
    probe_set: str  # ImageFolder folder, or "cifar10"/"cifar100" (train split) with data_root
    test_set: str  # ImageFolder folder, or "cifar10"/"cifar100" (test split) with data_root
    manifest: Path | None = None  # default: data.long_tail.manifest of args.json, if it exists
    data_root: Path | None = None
    protocol: str = "linear"
    shots: int | None = None  # few-shot: images per class
    fraction: float | None = None  # few-shot: fraction of the probe set, class-balanced
    seeds: tuple[int, ...] = (0,)
    probe_indices: Path | None = None  # .npy of positions in the probe set to restrict it to
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    knn: KnnOptions = field(default_factory=KnnOptions)
    resize: int | None = None
    device: str = "auto"
    extract_batch_size: int = 256
    num_workers: int = 0
    cache_dir: Path | None = None  # None: no feature cache

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first option out of range."""
        require(self.protocol in PROTOCOLS, "--protocol", f"one of {PROTOCOLS}", self.protocol)
        require(len(self.seeds) >= 1 and all(s >= 0 for s in self.seeds)
                and len(set(self.seeds)) == len(self.seeds), "--seeds",
                "one or more distinct integers >= 0", list(self.seeds))
        require(self.extract_batch_size >= 1, "--extract-batch-size", "an integer >= 1",
                self.extract_batch_size)
        require(self.num_workers >= 0, "--num-workers", "an integer >= 0", self.num_workers)
        if self.protocol == "linear":
            self.probe.validate()

    def protocol_record(self, probe: EvalSet, test: EvalSet) -> dict[str, Any]:
        """``metrics.json`` ``protocol``: every option that changes the numbers."""
        record: dict[str, Any] = {
            "name": self.protocol, "shots": self.shots, "fraction": self.fraction,
            "seeds": list(self.seeds),
            "probe_indices_sha256": sha256_file(self.probe_indices) if self.probe_indices else None,
            "resize": self.resize, "probe_set_id": probe.identity, "test_set_id": test.identity,
        }
        if self.protocol == "linear":
            record.update(asdict(self.probe))
        else:
            record.update(asdict(self.knn))
        return record


def resolve_manifest(explicit: Path | None, args: Mapping[str, Any]) -> Path:
    """``explicit``, else the manifest that the run's ``data.long_tail`` block names (the block
    itself as a path, or its ``manifest`` key; a folder means its manifest.json) if it exists."""
    if explicit is not None:
        return Path(explicit).expanduser()
    block = (args.get("data") or {}).get("long_tail")
    named = block.get("manifest") if isinstance(block, Mapping) else block
    if isinstance(named, str) and named:
        path = Path(named).expanduser()
        path = path / MANIFEST_NAME if path.is_dir() else path
        if path.is_file():
            return path
    raise FileNotFoundError(
        "no --manifest given and the run's args.json names no existing manifest "
        "(data.long_tail.manifest): pass --manifest <pre-training set>/manifest.json, the file "
        "that defines each class's Many/Medium/Few group"
    )


def check_classes(manifest: Manifest, manifest_path: Path, probe: EvalSet, test: EvalSet) -> None:
    """Probe, test and manifest classes must be the same, in the same label order."""
    if probe.classes != test.classes:
        raise ValueError(f"probe set {probe.description} classes {probe.classes[:6]}... differ "
                         f"from test set {test.description} classes {test.classes[:6]}...")
    names, dirs = manifest.class_names, class_dir_names(manifest.class_names)
    if len(test.classes) != len(names) or any(
            t not in (n, d) for t, n, d in zip(test.classes, names, dirs)):
        raise ValueError(
            f"manifest {manifest_path} ({len(names)} classes: {names[:6]}...) does not match test "
            f"set {test.description} ({len(test.classes)} classes: {test.classes[:6]}...): pass "
            "the manifest of the long-tailed pre-training set of these classes"
        )


def load_probe_indices(path: Path, num_images: int) -> np.ndarray:
    """Validated positions [K] (1-D, distinct integers in [0, num_images)) from a .npy file."""
    try:
        idx = np.load(Path(path).expanduser(), allow_pickle=False)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f"--probe-indices {path}: cannot read a .npy array "
                                f"({err})") from None
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"--probe-indices {path}: expected a non-empty 1-D integer array, "
                         f"got {idx.dtype} of shape {idx.shape}")
    if idx.min() < 0 or idx.max() >= num_images or len(np.unique(idx)) != idx.size:
        raise ValueError(f"--probe-indices {path}: indexes must be distinct and in "
                         f"[0, {num_images}) for this probe set (got [{idx.min()}, {idx.max()}])")
    return np.sort(idx.astype(np.int64))


def probe_subsets(req: EvalRequest, probe: EvalSet) -> list[np.ndarray]:
    """Positions in the probe set used with each seed: all (or ``--probe-indices``), or that
    set's seeded class-balanced few-shot subset."""
    base = np.arange(len(probe.targets))
    if req.probe_indices is not None:
        base = load_probe_indices(req.probe_indices, len(base))
        require_every_class(probe.targets[base], probe.classes,
                            f"probe set {probe.description} restricted to {req.probe_indices}")
    if req.shots is None and req.fraction is None:
        return [base] * len(req.seeds)
    return [base[balanced_subset(probe.targets[base], len(probe.classes), seed=seed,
                                 shots=req.shots, fraction=req.fraction)] for seed in req.seeds]


def solo_learn_version() -> str:
    try:
        return importlib.metadata.version("solo-learn")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def evaluate(req: EvalRequest, *, use_solo: bool | None = None,
             log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run the evaluation ``req`` describes and return its ``metrics.json`` document."""
    req.validate()
    backbone = load_backbone(req.checkpoint, use_solo)
    log(f"backbone {backbone.args['backbone']['name']} ({backbone.registry}) from "
        f"{backbone.checkpoint}")
    transform = eval_transform(backbone.args, req.resize)
    manifest_path = resolve_manifest(req.manifest, backbone.args)
    manifest = Manifest.load(manifest_path)
    probe = open_set(req.probe_set, role="probe", data_root=req.data_root,
                     transform=transform.build())
    test = open_set(req.test_set, role="test", data_root=req.data_root,
                    transform=transform.build())
    check_classes(manifest, manifest_path, probe, test)

    subsets = probe_subsets(req, probe)  # bad indexes or shots fail before any extraction
    if req.protocol == "knn":
        req.knn.validate(min(len(s) for s in subsets))
    device = resolve_device(req.device)
    probe_f, test_f = (_features(backbone, data, role, transform.describe(), device, req, log)
                       for data, role in ((probe, "probe"), (test, "test")))
    runs = []
    for seed, idx in zip(req.seeds, subsets):
        pred = _predict(req, probe_f, torch.from_numpy(idx), test_f.x, len(probe.classes),
                        seed, device)
        runs.append(group_metrics(pred.cpu().numpy(), test_f.y.numpy(), manifest.groups))
        log(f"seed {seed}: All {runs[-1].all:.2f}% with {len(idx)} probe images")
    mean, std, per_class = summarize(runs)
    return {
        "schema": METRICS_SCHEMA,
        "method": backbone.args["method"],
        "run_name": backbone.args["name"],
        "protocol": req.protocol_record(probe, test),
        "metrics": mean,
        "metrics_std": std,
        "per_class": [{"class": n, "train_count": c, "group": g, "accuracy": a} for n, c, g, a
                      in zip(manifest.class_names, manifest.counts, manifest.groups, per_class)],
        "inputs": {"checkpoint": str(backbone.checkpoint.resolve()),
                   "checkpoint_sha256": backbone.checkpoint_sha256,
                   "args_sha256": backbone.args_sha256,
                   "manifest": str(manifest_path.resolve()),
                   "manifest_checksum": manifest.index_checksum,
                   "probe_set": probe.description, "test_set": test.description,
                   "transform": transform.describe()},
        "versions": {"solo_tase": solo_tase.__version__, "torch": torch.__version__,
                     "solo_learn": solo_learn_version()},
    }


def _features(backbone: LoadedBackbone, data: EvalSet, role: str, transform: str,
              device: torch.device, req: EvalRequest, log: Callable[[str], None]) -> Features:
    parts = {"checkpoint_sha256": backbone.checkpoint_sha256, "transform": transform,
             "data": data.cache_key, "device": device.type}
    feats, hit = cached_features(req.cache_dir, parts, lambda: extract_features(
        backbone.module, data.dataset, device=device, batch_size=req.extract_batch_size,
        num_workers=req.num_workers, description=f"{role} features"))
    log(f"{'cached' if hit else 'extracted'} features {tuple(feats.x.shape)} of {data.description}")
    return feats


def _predict(req: EvalRequest, probe: Features, idx: torch.Tensor, test_x: torch.Tensor,
             num_classes: int, seed: int, device: torch.device) -> torch.Tensor:
    train_x, train_y = probe.x[idx].to(device), probe.y[idx].to(device)
    if req.protocol == "knn":
        return knn_predict(train_x, train_y, test_x.to(device), num_classes, req.knn)
    return linear_probe_predict(train_x, train_y, test_x.to(device), num_classes, req.probe, seed)
