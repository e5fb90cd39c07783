"""Digits-LT: the embedded default dataset, built from scikit-learn's 1,797 real 8x8 digits.

A class-balanced test part is held out first (``test_per_class`` images of every digit); the
remaining pool is drawn with the exponential long-tailed profile (digit 0 is the head, digit 9
the tail, seeded choice inside each class), upscaled (bicubic) to ``size`` x ``size`` RGB and
written as an ImageFolder that solo-learn reads as ``data.dataset: custom``. A class-balanced
probe-training set (the first ``min pool size`` images of every class's shuffled pool, so it
contains every train image, as the full CIFAR train set does in the CIFAR-LT protocol) serves the
linear probe::

    <out>/train/<digit>/<id>.png    long-tailed pre-training set
    <out>/probe/<digit>/<id>.png    balanced probe-training set (superset of train)
    <out>/test/<digit>/<id>.png     balanced test set
    <out>/manifest.json             counts, groups, seed, ratio, checksums
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.profiles import exponential_profile
from solo_tase.data.writer import materialize, write_png_split


@dataclass(frozen=True)
class DigitsLTSpec:
    """Knobs of Digits-LT (counts in images, size in pixels)."""

    ratio: float = 10.0
    seed: int = 0
    test_per_class: int = 50
    n_max: int | None = None  # default: the smallest per-class pool after the test hold-out
    size: int = 32


@dataclass(frozen=True)
class DigitsLTSplit:
    """Indexes into ``sklearn.datasets.load_digits()`` for train (long-tailed), probe, test."""

    train: np.ndarray
    probe: np.ndarray
    test: np.ndarray
    counts: list[int]


def split_digits(targets: np.ndarray, spec: DigitsLTSpec) -> DigitsLTSplit:
    """Draw the balanced test part, then the long-tailed train part, from ``targets`` [N]."""
    rng = np.random.default_rng(spec.seed)
    classes = np.unique(targets)
    per_class = [rng.permutation(np.flatnonzero(targets == c)) for c in classes]
    smallest = min(len(p) for p in per_class)
    if spec.test_per_class < 1 or spec.test_per_class >= smallest:
        raise ValueError(
            f"test_per_class must be in [1, {smallest - 1}], got {spec.test_per_class}"
        )
    pools = [p[spec.test_per_class :] for p in per_class]
    smallest_pool = min(len(p) for p in pools)
    n_max = spec.n_max or smallest_pool
    counts = exponential_profile(n_max, len(classes), spec.ratio)
    short = [int(c) for c, n, p in zip(classes, counts, pools) if n > len(p)]
    if short:
        raise ValueError(f"n_max={n_max} exceeds the pool of digits {short}; lower n_max")
    train = np.concatenate([np.sort(p[:n]) for p, n in zip(pools, counts)])
    probe = np.concatenate([np.sort(p[: max(smallest_pool, n)]) for p, n in zip(pools, counts)])
    test = np.concatenate([np.sort(p[: spec.test_per_class]) for p in per_class])
    return DigitsLTSplit(train=train, probe=probe, test=test, counts=counts)


def _to_rgb(images: np.ndarray, size: int) -> np.ndarray:
    """sklearn digits [N, 8, 8] in 0..16 -> uint8 RGB [N, size, size, 3] (bicubic upscaling)."""
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, img in enumerate(images):
        gray = Image.fromarray(np.round(img * (255.0 / 16.0)).astype(np.uint8))
        out[i] = np.asarray(gray.resize((size, size), Image.Resampling.BICUBIC).convert("RGB"))
    return out


def build_digits_lt(
    out: str | Path, spec: DigitsLTSpec = DigitsLTSpec(), *, replace: bool = False
) -> Manifest:
    """Build Digits-LT under ``out`` (atomically; reused if already built identically)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    split = split_digits(digits.target, spec)
    names = [str(c) for c in range(10)]
    manifest = Manifest.build(
        name=f"digits-lt-r{spec.ratio:g}-s{spec.seed}",
        source="sklearn.datasets.load_digits",
        class_names=names,
        counts=split.counts,
        items=split.train.tolist(),
        group_rule="thirds",
        profile={
            "type": "exponential",
            "ratio": spec.ratio,
            "n_max": split.counts[0],
            "class_order": "digit 0 (head) .. digit 9 (tail)",
        },
        seed=spec.seed,
        extra={
            "image_size": spec.size,
            "test_per_class": spec.test_per_class,
            "probe_checksum": checksum_items(split.probe.tolist()),
            "test_checksum": checksum_items(split.test.tolist()),
            "splits": {"train": "train", "probe": "probe", "test": "test"},
        },
    )

    def fill(tmp: Path) -> None:
        for part, idx in (("train", split.train), ("probe", split.probe), ("test", split.test)):
            write_png_split(
                tmp / part, _to_rgb(digits.images[idx], spec.size), digits.target[idx], idx, names
            )

    materialize(Path(out), manifest, fill, replace=replace)
    return manifest
