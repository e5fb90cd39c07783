"""Seeded, class-balanced few-shot subsets of a probe-training set.

Every class gets exactly ``k`` images: ``k = shots``, or ``k = round(fraction * N / C)`` for a
fraction of an ``N``-image, ``C``-class set (1% of SDCLR's 45,000-image CIFAR-10 pool: 45 per
class, the size of its ``split*_S_b.npy``). Class ``c`` draws from its own generator seeded with
``(seed, c)``, so subsets are reproducible, independent of the other classes, and nested: the
50-shot subset of a seed is contained in its 100-shot subset.
"""

from __future__ import annotations

import numpy as np

from solo_tase.errors import ConfigError, InputError
from solo_tase.settings import require


def images_per_class(
    num_images: int, num_classes: int, *, shots: int | None = None, fraction: float | None = None
) -> int:
    """``k``, the number of images each class keeps (exactly one of shots/fraction)."""
    if (shots is None) == (fraction is None):
        raise ConfigError("give exactly one of --shots (images per class) or --fraction")
    if shots is not None:
        require(shots >= 1, "--shots", "an integer >= 1", shots)
        return int(shots)
    assert fraction is not None
    require(0.0 < fraction < 1.0, "--fraction", "in (0, 1)", fraction)
    k = round(fraction * num_images / num_classes)
    require(
        k >= 1,
        "--fraction",
        f">= {num_classes / num_images:.2g} (at least one image per "
        f"class of this {num_images}-image set)",
        fraction,
    )
    return k


def balanced_subset(
    labels: np.ndarray,
    num_classes: int,
    *,
    seed: int,
    shots: int | None = None,
    fraction: float | None = None,
) -> np.ndarray:
    """Sorted positions into ``labels`` [N] holding exactly ``k`` images of every class."""
    labels = np.asarray(labels)
    k = images_per_class(len(labels), num_classes, shots=shots, fraction=fraction)
    members = [np.flatnonzero(labels == c) for c in range(num_classes)]
    short = {c: len(m) for c, m in enumerate(members) if len(m) < k}
    if short:
        raise InputError(
            f"{k} images per class requested but classes {short} (label: count) "
            "have fewer; lower --shots/--fraction"
        )
    picked = [np.random.default_rng([seed, c]).permutation(m)[:k] for c, m in enumerate(members)]
    return np.sort(np.concatenate(picked))
