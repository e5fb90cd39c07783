"""One evaluation end to end: checkpoint -> frozen features -> probe or kNN per run -> the
``metrics.json`` document (schema ``solo-tase/metrics/v1``, accuracies in %).

A run is one (probe-index file, seed) pair; the metrics are the mean over the runs and
``metrics_std`` their population std. Linear recipes: ``adam`` (the BCL/GH probe on cached
features, optionally of one augmented pass) and ``sdclr-sgd`` (SDCLR's SGD probe on images
augmented every epoch, its epoch chosen on a held-out set)."""

from __future__ import annotations

import importlib.metadata
import itertools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

import solo_tase
from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.data.writer import class_dir_names
from solo_tase.eval.checkpoint import LoadedBackbone, load_backbone
from solo_tase.eval.datasets import EvalSet, open_set, require_every_class
from solo_tase.eval.features import Features, cached_features, extract_features, resolve_device
from solo_tase.eval.fewshot import balanced_subset
from solo_tase.eval.knn import KnnOptions, knn_predict
from solo_tase.eval.metrics import group_metrics, summarize
from solo_tase.eval.probe import ProbeOptions, linear_probe_predict
from solo_tase.eval.sgd_probe import SgdProbeOptions, fit_sgd_probe
from solo_tase.eval.transforms import EvalTransform, eval_transform
from solo_tase.errors import InputError
from solo_tase.settings import ConfigError, require
from solo_tase.utils.documents import dotted
from solo_tase.utils.hashing import sha256_file

METRICS_SCHEMA = "solo-tase/metrics/v1"
PROTOCOLS = ("linear", "knn")
RECIPES = ("adam", "sdclr-sgd")
AUGMENTS = ("none", "one-pass", "every-epoch")  # probe images: crop + flip never / once / per epoch


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
    probe_indices: tuple[Path, ...] = ()  # .npy files of probe-set positions; one run per file
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    knn: KnnOptions = field(default_factory=KnnOptions)
    recipe: str = "adam"  # linear protocol: "adam" (cached features) or "sdclr-sgd"
    sgd: SgdProbeOptions = field(default_factory=SgdProbeOptions)
    augment: str = "none"  # "none", "one-pass" (adam / knn) or "every-epoch" (sdclr-sgd)
    val_indices: Path | None = None  # sdclr-sgd: .npy of held-out probe-set positions (no aug)
    val_set: str | None = None  # sdclr-sgd: a separate held-out set (folder or CIFAR name)
    preset: str | None = None  # recorded: the preset and setting that chose the options
    setting: str | None = None
    resize: int | None = None
    device: str = "auto"
    extract_batch_size: int = 256
    num_workers: int = 0
    cache_dir: Path | None = None  # None: no feature cache

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first option out of range."""
        require(self.protocol in PROTOCOLS, "--protocol", f"one of {PROTOCOLS}", self.protocol)
        require(
            len(self.seeds) >= 1
            and all(s >= 0 for s in self.seeds)
            and len(set(self.seeds)) == len(self.seeds),
            "--seeds",
            "one or more distinct integers >= 0",
            list(self.seeds),
        )
        require(
            self.extract_batch_size >= 1,
            "--extract-batch-size",
            "an integer >= 1",
            self.extract_batch_size,
        )
        require(self.num_workers >= 0, "--num-workers", "an integer >= 0", self.num_workers)
        require(self.recipe in RECIPES, "--recipe", f"one of {RECIPES}", self.recipe)
        require(self.augment in AUGMENTS, "--augment", f"one of {AUGMENTS}", self.augment)
        if self.recipe == "sdclr-sgd":
            if self.protocol != "linear" or self.augment != "every-epoch":
                raise ConfigError(
                    "--recipe sdclr-sgd is a linear probe on images augmented every "
                    "epoch: use --protocol linear --augment every-epoch"
                )
            if (self.val_indices is None) == (self.val_set is None):
                raise ConfigError(
                    "--recipe sdclr-sgd chooses its epoch on a held-out set: give "
                    "exactly one of --val-indices or --val-set"
                )
            self.sgd.validate()
        elif self.augment == "every-epoch":
            raise ConfigError(
                "--augment every-epoch needs --recipe sdclr-sgd (the adam recipe "
                "and kNN read cached features: use --augment one-pass or none)"
            )
        elif self.protocol == "linear":
            self.probe.validate()

    def protocol_record(self, probe: EvalSet, test: EvalSet) -> dict[str, Any]:
        """``metrics.json`` ``protocol``: every option that changes the numbers."""
        record: dict[str, Any] = {
            "name": self.protocol,
            "shots": self.shots,
            "fraction": self.fraction,
            "seeds": list(self.seeds),
            "probe_indices_sha256": (
                [sha256_file(p) for p in self.probe_indices] if self.probe_indices else None
            ),
            "resize": self.resize,
            "probe_set_id": probe.identity,
            "test_set_id": test.identity,
            "augment": self.augment,
            "preset": self.preset,
            "setting": self.setting,
        }
        if self.protocol == "knn":
            record.update(asdict(self.knn))
        elif self.recipe == "sdclr-sgd":
            record.update(
                {
                    "recipe": self.recipe,
                    "val": (sha256_file(self.val_indices) if self.val_indices else self.val_set),
                }
            )
            record.update({f"sgd_{k}": v for k, v in asdict(self.sgd).items()})
        else:
            record.update({"recipe": self.recipe, **asdict(self.probe)})
        return record


def resolve_manifest(explicit: Path | None, args: Mapping[str, Any]) -> Path:
    """``explicit``, else the manifest that the run's ``data.long_tail`` block names (the block
    itself as a path, or its ``manifest`` key; a folder means its manifest.json) if it exists."""
    if explicit is not None:
        return Path(explicit).expanduser()
    block = dotted(args, "data.long_tail")
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
        raise InputError(
            f"probe set {probe.description} classes {probe.classes[:6]}... differ "
            f"from test set {test.description} classes {test.classes[:6]}..."
        )
    names, dirs = manifest.class_names, class_dir_names(manifest.class_names)
    if len(test.classes) != len(names) or any(
        t not in (n, d) for t, n, d in zip(test.classes, names, dirs)
    ):
        raise InputError(
            f"manifest {manifest_path} ({len(names)} classes: {names[:6]}...) does not match test "
            f"set {test.description} ({len(test.classes)} classes: {test.classes[:6]}...): pass "
            "the manifest of the long-tailed pre-training set of these classes"
        )


def load_probe_indices(path: Path, num_images: int) -> np.ndarray:
    """Validated positions [K] (1-D, distinct integers in [0, num_images)) from a .npy file."""
    try:
        idx = np.load(Path(path).expanduser(), allow_pickle=False)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(
            f"--probe-indices {path}: cannot read a .npy array ({err})"
        ) from None
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise InputError(
            f"--probe-indices {path}: expected a non-empty 1-D integer array, "
            f"got {idx.dtype} of shape {idx.shape}"
        )
    if idx.min() < 0 or idx.max() >= num_images or len(np.unique(idx)) != idx.size:
        raise InputError(
            f"--probe-indices {path}: indexes must be distinct and in "
            f"[0, {num_images}) for this probe set (got [{idx.min()}, {idx.max()}])"
        )
    return np.sort(idx.astype(np.int64))


@dataclass(frozen=True)
class ProbeRun:
    """One probe: its seed, the probe-index file it uses (if any) and its probe-set positions."""

    seed: int
    indices_file: Path | None
    positions: np.ndarray  # [K] sorted positions in the probe set


def probe_runs(req: EvalRequest, probe: EvalSet) -> list[ProbeRun]:
    """One run per (``--probe-indices`` file, seed): that file's positions (all without files),
    or their seeded class-balanced few-shot subset."""
    bases: list[tuple[Path | None, np.ndarray]] = [(None, np.arange(len(probe.targets)))]
    if req.probe_indices:
        bases = []
        for path in req.probe_indices:
            idx = load_probe_indices(path, len(probe.targets))
            require_every_class(
                probe.targets[idx],
                probe.classes,
                f"probe set {probe.description} restricted to {path}",
            )
            bases.append((path, idx))
    runs = []
    for (path, base), seed in itertools.product(bases, req.seeds):
        if req.shots is not None or req.fraction is not None:
            base = base[
                balanced_subset(
                    probe.targets[base],
                    len(probe.classes),
                    seed=seed,
                    shots=req.shots,
                    fraction=req.fraction,
                )
            ]
        runs.append(ProbeRun(seed=seed, indices_file=path, positions=base))
    return runs


def check_disjoint(probe: EvalSet, run: ProbeRun, held_out: EvalSet, req: EvalRequest) -> None:
    """The held-out set that picks the sdclr-sgd epoch may hold none of the run's probe images
    (same file, links followed, or same CIFAR image), whichever option named it."""
    shared = np.intersect1d(probe.image_ids[run.positions], held_out.image_ids)
    if shared.size:
        option = (
            f"--val-indices {req.val_indices}" if req.val_indices else f"--val-set {req.val_set}"
        )
        raise InputError(
            f"{option} shares images with the probe images ({shared.size} of the "
            f"{len(run.positions)} images of probe set {probe.description}"
            f"{' restricted to ' + str(run.indices_file) if run.indices_file else ''}, e.g. "
            f"{shared[0]}): the held-out set that picks the epoch must be disjoint from them "
            "(SDCLR's ImageNet-100 probe list ImageNet_100_train.txt leaves ImageNet_100_val.txt "
            "out)"
        )


def solo_learn_version() -> str:
    try:
        return importlib.metadata.version("solo-learn")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def evaluate(
    req: EvalRequest, *, use_solo: bool | None = None, log: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Run the evaluation ``req`` describes and return its ``metrics.json`` document."""
    req.validate()
    backbone = load_backbone(req.checkpoint, use_solo)
    log(
        f"backbone {backbone.args['backbone']['name']} ({backbone.registry}) from "
        f"{backbone.checkpoint}"
    )
    transform = eval_transform(backbone.args, req.resize)
    manifest_path = resolve_manifest(req.manifest, backbone.args)
    manifest = Manifest.load(manifest_path)
    probe = open_set(
        req.probe_set, role="probe", data_root=req.data_root, transform=transform.build()
    )
    test = open_set(req.test_set, role="test", data_root=req.data_root, transform=transform.build())
    check_classes(manifest, manifest_path, probe, test)

    runs = probe_runs(req, probe)  # bad indexes or shots fail before any extraction
    if req.protocol == "knn":
        req.knn.validate(min(len(r.positions) for r in runs))
    device = resolve_device(req.device)
    test_f = _features(backbone, test, "test", transform.describe(), device, req, log)
    if req.recipe == "sdclr-sgd":
        predict = _sgd_predictor(req, backbone, transform, probe, runs, test_f, device, log)
    else:
        probe_f = _probe_features(req, backbone, transform, probe, device, log)

        def predict(run: ProbeRun) -> tuple[torch.Tensor, dict[str, Any]]:
            return _predict(
                req,
                probe_f,
                torch.from_numpy(run.positions),
                test_f.x,
                len(probe.classes),
                run.seed,
                device,
            ), {}

    results, records = [], []
    for run in runs:
        pred, info = predict(run)
        results.append(group_metrics(pred.cpu().numpy(), test_f.y.numpy(), manifest.groups))
        records.append(
            {
                "seed": run.seed,
                "probe_images": len(run.positions),
                "probe_indices": str(run.indices_file) if run.indices_file else None,
                "all": results[-1].all,
                **info,
            }
        )
        log(
            f"run {len(records)}/{len(runs)} (seed {run.seed}"
            f"{', ' + run.indices_file.name if run.indices_file else ''}): "
            f"All {results[-1].all:.2f}% with {len(run.positions)} probe images"
        )
    mean, std, per_class = summarize(results)
    return {
        "schema": METRICS_SCHEMA,
        "method": backbone.args["method"],
        "run_name": backbone.args["name"],
        "protocol": req.protocol_record(probe, test),
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
            "manifest": str(manifest_path.resolve()),
            "manifest_checksum": manifest.index_checksum,
            "probe_set": probe.description,
            "test_set": test.description,
            "transform": transform.describe(),
        },
        "versions": {
            "solo_tase": solo_tase.__version__,
            "torch": torch.__version__,
            "solo_learn": solo_learn_version(),
        },
    }


def _features(
    backbone: LoadedBackbone,
    data: EvalSet,
    role: str,
    transform: str,
    device: torch.device,
    req: EvalRequest,
    log: Callable[[str], None],
    seed: int | None = None,
) -> Features:
    """Features of ``data`` (whose dataset applies ``transform``); a random transform is drawn
    from ``seed`` and the seed is part of the cache key."""
    parts = {
        "checkpoint_sha256": backbone.checkpoint_sha256,
        "transform": transform,
        "data": data.cache_key,
        "device": device.type,
    }
    if seed is not None:
        parts["augmentation_seed"] = str(seed)

    def compute() -> Features:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed or 0)
            return extract_features(
                backbone.module,
                data.dataset,
                device=device,
                batch_size=req.extract_batch_size,
                num_workers=req.num_workers,
                description=f"{role} features",
            )

    feats, hit = cached_features(req.cache_dir, parts, compute)
    log(f"{'cached' if hit else 'extracted'} features {tuple(feats.x.shape)} of {data.description}")
    return feats


def _probe_features(
    req: EvalRequest,
    backbone: LoadedBackbone,
    transform: EvalTransform,
    probe: EvalSet,
    device: torch.device,
    log: Callable[[str], None],
) -> Features:
    """Probe-set features: of the evaluation transform, or of one augmented pass (crop + flip,
    drawn from the first seed) with ``augment: one-pass``."""
    if req.augment == "none":
        return _features(backbone, probe, "probe", transform.describe(), device, req, log)
    augmented = open_set(
        req.probe_set, role="probe", data_root=req.data_root, transform=transform.build_augmented()
    )
    return _features(
        backbone,
        augmented,
        "probe (augmented)",
        transform.describe_augmented(),
        device,
        req,
        log,
        seed=req.seeds[0],
    )


def _sgd_predictor(
    req: EvalRequest,
    backbone: LoadedBackbone,
    transform: EvalTransform,
    probe: EvalSet,
    runs: list[ProbeRun],
    test_f: Features,
    device: torch.device,
    log: Callable[[str], None],
) -> Callable[[ProbeRun], tuple[torch.Tensor, dict[str, Any]]]:
    """The sdclr-sgd recipe: per run, SGD on augmented probe images, epoch chosen on the
    held-out set (``val_indices`` in the probe set, or ``val_set``), then test predictions."""
    if req.val_indices is not None:
        val_idx = load_probe_indices(req.val_indices, len(probe.targets))
        held_out = EvalSet(
            dataset=Subset(probe.dataset, val_idx.tolist()),
            classes=probe.classes,
            targets=probe.targets[val_idx],
            description=f"{probe.description}[{req.val_indices.name}]",
            identity=probe.identity,
            cache_key=f"{probe.cache_key}:{sha256_file(req.val_indices)}",
            image_ids=probe.image_ids[val_idx],
        )
    else:
        assert req.val_set is not None
        held_out = open_set(
            req.val_set, role="probe", data_root=req.data_root, transform=transform.build()
        )
        if held_out.classes != probe.classes:
            raise InputError(
                f"--val-set {held_out.description} classes {held_out.classes[:6]}... "
                f"differ from probe set classes {probe.classes[:6]}..."
            )
    for run in runs:
        check_disjoint(probe, run, held_out, req)
    val_f = _features(backbone, held_out, "held-out", transform.describe(), device, req, log)
    augmented = open_set(
        req.probe_set, role="probe", data_root=req.data_root, transform=transform.build_augmented()
    )

    def predict(run: ProbeRun) -> tuple[torch.Tensor, dict[str, Any]]:
        clf, info = fit_sgd_probe(
            backbone.module,
            Subset(augmented.dataset, run.positions.tolist()),
            val_f.x,
            val_f.y,
            len(probe.classes),
            req.sgd,
            seed=run.seed,
            device=device,
            num_workers=req.num_workers,
        )
        log(
            f"sdclr-sgd: best held-out accuracy {info['val_accuracy']:.2f}% at epoch "
            f"{info['best_epoch']}"
        )
        with torch.no_grad():
            pred = clf(test_f.x.to(device)).argmax(dim=1)
        return pred, {"best_epoch": info["best_epoch"], "val_accuracy": info["val_accuracy"]}

    return predict


def _predict(
    req: EvalRequest,
    probe: Features,
    idx: torch.Tensor,
    test_x: torch.Tensor,
    num_classes: int,
    seed: int,
    device: torch.device,
) -> torch.Tensor:
    train_x, train_y = probe.x[idx].to(device), probe.y[idx].to(device)
    if req.protocol == "knn":
        return knn_predict(train_x, train_y, test_x.to(device), num_classes, req.knn)
    return linear_probe_predict(train_x, train_y, test_x.to(device), num_classes, req.probe, seed)
