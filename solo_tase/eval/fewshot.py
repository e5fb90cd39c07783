"""Seeded, class-balanced few-shot subsets of a probe-training set.

Every class gets exactly ``k`` images: ``k = shots``, or ``k = round(fraction * N / C)`` for a
fraction of an ``N``-image, ``C``-class set (1% of SDCLR's 45,000-image CIFAR-10 pool: 45 per
class, the size of its ``split*_S_b.npy``). Class ``c`` draws from its own generator seeded with
``(seed, c)``, so subsets are reproducible, independent of the other classes, and nested: the
50-shot subset of a seed is contained in its 100-shot subset.
"""

from __future__ import annotations

from typing import Annotated, Self

import numpy as np
from pydantic import model_validator
from pydantic.dataclasses import dataclass

from solo_tase.errors import ConfigError, InputError
from solo_tase.settings import SETTINGS, cross_check, doc, flag, integer_from, require, within


@dataclass(frozen=True, config=SETTINGS)
class FewShotOptions:
    """A few-shot probe: ``shots`` images per class, or a class-balanced ``fraction`` of the
    probe set; neither: the whole probe set."""

    shots: Annotated[int, integer_from(1), doc("few-shot: images per class")] | None = None
    fraction: (
        Annotated[
            float, within(0, 1, "()"), doc("few-shot: class-balanced fraction of the probe set")
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_size(self) -> Self:
        cross_check(
            self.shots is None or self.fraction is None,
            "fraction",
            "left out when {shots} is given (a few-shot probe takes exactly one of them)",
            self.fraction,
        )
        return self

    @property
    def active(self) -> bool:
        """Whether the probe set is cut to a few-shot subset."""
        return self.shots is not None or self.fraction is not None


def images_per_class(options: FewShotOptions, num_images: int, num_classes: int) -> int:
    """``k``, the number of images each class keeps, of a ``num_images``-image probe set."""
    if not options.active:
        raise ConfigError(
            f"give exactly one of {flag('shots')} (images per class) or {flag('fraction')}"
        )
    if options.shots is not None:
        return options.shots
    assert options.fraction is not None
    k = round(options.fraction * num_images / num_classes)
    require(
        k >= 1,
        flag("fraction"),
        f">= {num_classes / num_images:.2g} (at least one image per "
        f"class of this {num_images}-image set)",
        options.fraction,
    )
    return k


def balanced_subset(
    labels: np.ndarray, num_classes: int, options: FewShotOptions, *, seed: int
) -> np.ndarray:
    """Sorted positions into ``labels`` [N] holding exactly ``k`` images of every class."""
    labels = np.asarray(labels)
    k = images_per_class(options, len(labels), num_classes)
    members = [np.flatnonzero(labels == c) for c in range(num_classes)]
    short = {c: len(m) for c, m in enumerate(members) if len(m) < k}
    if short:
        raise InputError(
            f"{k} images per class requested but classes {short} (label: count) "
            f"have fewer; lower {flag('shots')}/{flag('fraction')}"
        )
    picked = [np.random.default_rng([seed, c]).permutation(m)[:k] for c, m in enumerate(members)]
    return np.sort(np.concatenate(picked))
