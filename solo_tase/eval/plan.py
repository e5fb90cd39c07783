"""One evaluation resolved before any feature is extracted: the backbone, the transform, the
manifest, the sets, the probe runs and the predictor, every input checked.

:func:`plan_evaluation` reads a request once; ``pipeline.evaluate`` then executes the plan. A run
is one (probe-index file, seed) pair.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.data.writer import class_dir_names
from solo_tase.errors import InputError
from solo_tase.eval.checkpoint import LoadedBackbone, load_backbone
from solo_tase.eval.datasets import EvalSet, open_sets, require_every_class
from solo_tase.eval.fewshot import balanced_subset
from solo_tase.eval.knn import check_neighbours
from solo_tase.eval.request import EvalRequest
from solo_tase.eval.transforms import Views, evaluation_views
from solo_tase.settings import flag
from solo_tase.utils.documents import dotted
from solo_tase.utils.hashing import sha256_file


@dataclass(frozen=True)
class ProbeRun:
    """One probe: its seed, the probe-index file it uses (if any) and its probe-set positions."""

    seed: int
    indices_file: Path | None
    positions: np.ndarray  # [K] sorted positions in the probe set


@dataclass(frozen=True)
class EvalPlan:
    """An evaluation, resolved: what is read, how, and what each run trains and tests on."""

    request: EvalRequest
    backbone: LoadedBackbone
    manifest: Manifest
    manifest_path: Path
    views: Views  # the transforms of the sets and their descriptions
    probe: EvalSet  # the probe set through ``views.test``
    test: EvalSet
    train: EvalSet  # what the probe trains on: ``probe``, or it through ``views.train``
    held_out: EvalSet | None  # sdclr-sgd: the set its epoch is chosen on
    runs: tuple[ProbeRun, ...]
    predictor: str  # "knn", "adam" (linear probe on cached features) or "sdclr-sgd"


def plan_evaluation(req: EvalRequest, use_solo: bool | None = None) -> EvalPlan:
    """Resolve ``req``: bad files, classes, indexes, shots or held-out sets fail here, before
    any extraction."""
    backbone = load_backbone(req.checkpoint, use_solo)
    views = evaluation_views(backbone.args, req.resize, req.augment != "none")
    manifest_path = resolve_manifest(req.manifest, backbone.args)
    manifest = Manifest.load(manifest_path)
    sgd = req.recipe == "sdclr-sgd"
    specs = [(req.probe_set, "probe", views.test), (req.test_set, "test", views.test)]
    if views.augmented:
        specs.append((req.probe_set, "probe", views.train))
    if sgd and req.val_set is not None:
        specs.append((req.val_set, "probe", views.test))
    probe, test, *more = open_sets(specs, req.data_root)
    check_classes(manifest, manifest_path, probe, test)
    runs = probe_runs(req, probe)
    held_out = None
    if sgd:
        held_out = held_out_set(req, probe, more[-1] if req.val_set is not None else None)
        for run in runs:
            check_disjoint(probe, run, held_out, req)
    predictor = "knn" if req.protocol == "knn" else req.recipe
    if predictor == "knn":
        check_neighbours(req.knn, min(len(r.positions) for r in runs))
    return EvalPlan(
        request=req,
        backbone=backbone,
        manifest=manifest,
        manifest_path=manifest_path,
        views=views,
        probe=probe,
        test=test,
        train=more[0] if views.augmented else probe,
        held_out=held_out,
        runs=tuple(runs),
        predictor=predictor,
    )


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


def load_probe_indices(path: Path, num_images: int, option: str = "probe_indices") -> np.ndarray:
    """Validated positions [K] (1-D, distinct integers in [0, num_images)) from a .npy file;
    errors name the option of the field ``option``."""
    try:
        idx = np.load(Path(path).expanduser(), allow_pickle=False)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(
            f"{flag(option)} {path}: cannot read a .npy array ({err})"
        ) from None
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise InputError(
            f"{flag(option)} {path}: expected a non-empty 1-D integer array, got {idx.dtype} of "
            f"shape {idx.shape}"
        )
    if idx.min() < 0 or idx.max() >= num_images or len(np.unique(idx)) != idx.size:
        raise InputError(
            f"{flag(option)} {path}: indexes must be distinct and in [0, {num_images}) for this "
            f"probe set (got [{idx.min()}, {idx.max()}])"
        )
    return np.sort(idx.astype(np.int64))


def probe_runs(req: EvalRequest, probe: EvalSet) -> list[ProbeRun]:
    """One run per (probe-index file, seed): that file's positions (all without files), or
    their seeded class-balanced few-shot subset."""
    bases: list[tuple[Path | None, np.ndarray]] = [(None, np.arange(len(probe.targets)))]
    if req.probe_indices:
        bases = []
        for path in req.probe_indices:
            idx = load_probe_indices(path, len(probe.targets))
            what = f"probe set {probe.description} restricted to {path}"
            require_every_class(probe.targets[idx], probe.classes, what)
            bases.append((path, idx))
    runs = []
    for (path, base), seed in itertools.product(bases, req.seeds):
        if req.few_shot.active:
            labels = probe.targets[base]
            base = base[balanced_subset(labels, len(probe.classes), req.few_shot, seed=seed)]
        runs.append(ProbeRun(seed=seed, indices_file=path, positions=base))
    return runs


def held_out_set(req: EvalRequest, probe: EvalSet, val_set: EvalSet | None) -> EvalSet:
    """The set sdclr-sgd chooses its epoch on: positions of the probe set (``val_indices``), or
    the set ``val_set`` names, opened, with the probe set's classes."""
    if val_set is None:
        assert req.val_indices is not None
        idx = load_probe_indices(req.val_indices, len(probe.targets), "val_indices")
        return probe.subset(idx, req.val_indices.name, sha256_file(req.val_indices))
    if val_set.classes != probe.classes:
        raise InputError(
            f"{flag('val_set')} {val_set.description} classes {val_set.classes[:6]}... "
            f"differ from probe set classes {probe.classes[:6]}..."
        )
    return val_set


def check_disjoint(probe: EvalSet, run: ProbeRun, held_out: EvalSet, req: EvalRequest) -> None:
    """The held-out set that picks the sdclr-sgd epoch may hold none of the run's probe images
    (same file, links followed, or same CIFAR image), whichever option named it."""
    shared = np.intersect1d(probe.image_ids[run.positions], held_out.image_ids)
    if shared.size:
        option = (
            f"{flag('val_indices')} {req.val_indices}"
            if req.val_indices
            else f"{flag('val_set')} {req.val_set}"
        )
        restricted = f" restricted to {run.indices_file}" if run.indices_file else ""
        raise InputError(
            f"{option} shares images with the probe images ({shared.size} of the "
            f"{len(run.positions)} images of probe set {probe.description}{restricted}, e.g. "
            f"{shared[0]}): the held-out set that picks the epoch must be disjoint from them "
            "(SDCLR's ImageNet-100 probe list ImageNet_100_train.txt leaves ImageNet_100_val.txt "
            "out)"
        )
