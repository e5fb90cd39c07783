"""One evaluation resolved before any feature is extracted: the backbone, the transform, the
manifest, the sets, the probe runs and the predictor, every input checked.

:func:`plan_evaluation` reads a request once; ``pipeline.evaluate`` then executes the plan. A run
is one (probe-index file, seed) pair.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from solo_tase.data.manifest import Manifest
from solo_tase.data.writer import class_dir_names
from solo_tase.errors import InputError
from solo_tase.eval.checkpoint import LoadedBackbone, load_backbone
from solo_tase.eval.datasets import EvalSet, open_sets, require_every_class
from solo_tase.eval.fewshot import balanced_subset
from solo_tase.eval.knn import check_neighbours
from solo_tase.eval.request import EvalRequest
from solo_tase.eval.transforms import Views, evaluation_views
from solo_tase.run_folder import MANIFEST_PLACES, run_manifest, verify_run_data
from solo_tase.settings import flag
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
    manifest_source: str  # where the manifest came from, for the user
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
    verify_run_data(backbone.args, backbone.args_path)
    views = evaluation_views(backbone.args, req.resize, req.augment != "none")
    manifest_path, manifest_source = choose_manifest(req, backbone.args, backbone.args_path)
    manifest = Manifest.load(manifest_path)
    sgd = req.recipe == "sdclr-sgd"
    specs = [(req.probe_set, "probe", views.test), (req.test_set, "test", views.test)]
    if views.augmented:
        specs.append((req.probe_set, "probe", views.train))
    if sgd and req.val_set is not None:
        specs.append((req.val_set, "probe", views.test))
    probe, test, *more = open_sets(specs, req.data_root)
    check_classes(manifest, manifest_path, ("probe", probe), ("test", test))
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
        manifest_source=manifest_source,
        views=views,
        probe=probe,
        test=test,
        train=more[0] if views.augmented else probe,
        held_out=held_out,
        runs=tuple(runs),
        predictor=predictor,
    )


def choose_manifest(req: EvalRequest, args: Mapping[str, Any], args_path: Path) -> tuple[Path, str]:
    """The manifest that groups the classes, and where it came from: the run's own
    (``run_folder.run_manifest``), which ``--manifest`` may only repeat; ``--regroup-manifest``
    replaces it on purpose; ``--manifest`` alone when the run names none."""
    if req.regroup_manifest is not None:
        path = req.regroup_manifest.expanduser()
        return path, f"{flag('regroup_manifest')}, instead of the run's own"
    run = run_manifest(args, args_path)
    if req.manifest is None:
        if run is None:
            raise FileNotFoundError(
                f"no {flag('manifest')} given and the run names no existing manifest (looked at "
                f"{MANIFEST_PLACES} of {args_path}): pass {flag('manifest')} <pre-training "
                "set>/manifest.json, the file that defines each class's Many/Medium/Few group"
            )
        return run.path, run.source
    explicit = req.manifest.expanduser()
    if run is None:
        return explicit, flag("manifest")
    if not same_manifest(explicit, run.path):
        raise InputError(
            f"{flag('manifest')} {explicit} is not the manifest the run was pre-trained on, "
            f"{run.path} ({run.source}): leave {flag('manifest')} out, or pass "
            f"{flag('regroup_manifest')} {explicit} to group the classes by it on purpose"
        )
    return explicit, f"{flag('manifest')}, the run's own ({run.source})"


def same_manifest(a: Path, b: Path) -> bool:
    """Whether two manifest files describe the same data and groups (one file, or copies)."""
    if a.resolve() == b.resolve():
        return True
    first, second = Manifest.load(a), Manifest.load(b)
    return all(
        getattr(first, k) == getattr(second, k)
        for k in ("index_checksum", "class_names", "counts", "groups")
    )


def class_difference(
    expected: Sequence[str],
    got: Sequence[str],
    aliases: Sequence[str] = (),
    names: tuple[str, str] = ("the manifest", "the set"),
) -> str:
    """How the classes ``got`` (in label order) differ from ``expected``: those only in either
    (``names`` says which is which), or the order; ``aliases[i]`` is another accepted name of
    ``expected[i]`` (its class folder name)."""
    canonical = dict(zip(expected, expected)) | dict(zip(aliases, expected))
    missing = sorted(set(expected) - {canonical.get(c) for c in got})
    extra = [c for c in got if c not in canonical]
    if not missing and not extra:
        return f"the same classes in another label order ({listed(expected)} vs {listed(got)})"
    return f"only in {names[0]}: {listed(missing)}; only in {names[1]}: {listed(extra)}"


def listed(items: Sequence[str], most: int = 20) -> str:
    """``items`` as a list, cut after ``most`` with the count."""
    items = list(items)
    return str(items) if len(items) <= most else f"{items[:most]} ... ({len(items)} in all)"


def check_classes(manifest: Manifest, manifest_path: Path, *sets: tuple[str, EvalSet]) -> None:
    """Every ``(role, set)`` must have the manifest's classes, in its label order (a class
    folder may be named ``<name>`` or ``<index>_<name>``, as ``data build`` writes them)."""
    names, dirs = manifest.class_names, class_dir_names(manifest.class_names)
    for role, data in sets:
        if len(data.classes) == len(names) and all(
            c in (n, d) for c, n, d in zip(data.classes, names, dirs)
        ):
            continue
        sides = ("the manifest", f"the {role} set")
        difference = class_difference(names, data.classes, dirs, sides)
        raise InputError(
            f"{role} set {data.description} does not have the classes of manifest "
            f"{manifest_path} ({difference}): the probe and test sets must have the classes of "
            "the long-tailed pre-training set"
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
        names = ("the probe set", "the held-out set")
        raise InputError(
            f"{flag('val_set')} {val_set.description} classes differ from the probe set's "
            f"({class_difference(probe.classes, val_set.classes, (), names)})"
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
