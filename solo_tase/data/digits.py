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
from typing import Annotated

import numpy as np
from PIL import Image
from pydantic.dataclasses import dataclass as record

from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.profiles import Ratio, exponential_profile
from solo_tase.data.selection import draw_order
from solo_tase.data.writer import materialize, write_png_split
from solo_tase.errors import ConfigError
from solo_tase.settings import SETTINGS, Count, doc, integer_from, key_name

NUM_CLASSES = 10


@record(frozen=True, config=SETTINGS)
class DigitsLTSpec:
    """Knobs of Digits-LT (counts in images, size in pixels): a settings-kit record."""

    ratio: Ratio = 10.0
    seed: Annotated[
        int, integer_from(0), doc("seed of the test hold-out and of the choice inside classes")
    ] = 0
    test_per_class: Annotated[Count, doc("balanced test images per class, held out first")] = 50
    n_max: (
        Annotated[
            Count,
            doc("images of the head class; unset: the smallest class pool after the test part"),
        ]
        | None
    ) = None
    size: Annotated[Count, doc("image side in pixels")] = 32


DEFAULT_SPEC = DigitsLTSpec()


@dataclass(frozen=True)
class DigitsLTSplit:
    """Indexes into ``sklearn.datasets.load_digits()`` for train (long-tailed), probe, test."""

    train: np.ndarray
    probe: np.ndarray
    test: np.ndarray
    counts: list[int]


def split_digits(targets: np.ndarray, spec: DigitsLTSpec, where: str = "") -> DigitsLTSplit:
    """Draw the balanced test part, then the long-tailed train part, from ``targets`` [N] (digits
    0..9); errors name the spec's keys as the user writes them after ``where`` (``--``)."""
    per_class = draw_order(targets, NUM_CLASSES, spec.seed)
    smallest = min(len(p) for p in per_class)
    if spec.test_per_class >= smallest:
        raise ConfigError(
            f"{key_name(where, 'test_per_class')} must be in [1, {smallest - 1}], "
            f"got {spec.test_per_class}"
        )
    pools = [p[spec.test_per_class :] for p in per_class]
    smallest_pool = min(len(p) for p in pools)
    n_max = spec.n_max or smallest_pool
    counts = exponential_profile(n_max, NUM_CLASSES, spec.ratio)
    short = [c for c, (n, p) in enumerate(zip(counts, pools)) if n > len(p)]
    if short:
        key = key_name(where, "n_max")
        raise ConfigError(f"{key}={n_max} exceeds the pool of digits {short}; lower {key}")
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
    out: str | Path,
    spec: DigitsLTSpec = DEFAULT_SPEC,
    *,
    replace: bool = False,
    where: str = "",
    command: str | None = None,
) -> Manifest:
    """Build Digits-LT under ``out`` (atomically; reused if already built identically); errors
    name the spec's keys after ``where`` (:func:`split_digits`)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    split = split_digits(digits.target, spec, where)
    names = [str(c) for c in range(NUM_CLASSES)]
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

    materialize(Path(out), manifest, fill, replace=replace, command=command)
    return manifest
