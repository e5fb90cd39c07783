"""Long-tailed class profiles and Many/Medium/Few group rules.

Class ``i`` (0-based, head first) of ``C`` classes gets ``n_i = floor(n_max * r^(-i/(C-1)))``
images for an imbalance ratio ``r = n_0 / n_{C-1}``; this is the profile of LDAM/SDCLR/BCL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np

from solo_tase.errors import ConfigError, InputError
from solo_tase.settings import at_least, doc, one_of

GROUPS: tuple[str, str, str] = ("many", "medium", "few")
GroupRule = Literal["thirds", "thresholds"]
# fields of the builders' records (settings kit) that several sources share
Ratio = Annotated[float, at_least(1), doc("imbalance ratio n_max/n_min")]
Groups = Annotated[
    str,
    one_of("thirds", "thresholds"),
    doc(
        "Many/Medium/Few rule: thirds by count (CIFAR-style) or >100 / 20-100 / <20 images "
        "(ImageNet-LT / Places-LT)"
    ),
]


def exponential_profile(n_max: int, num_classes: int, ratio: float) -> list[int]:
    """Per-class counts ``floor(n_max * ratio^(-i/(C-1)))`` for ``i = 0..C-1`` (head first).

    Raises:
        ConfigError: ``ratio < 1``, ``n_max < 1`` or ``num_classes < 1``, or a class left empty.
    """
    if ratio < 1:
        raise ConfigError(f"imbalance ratio must be >= 1 (head/tail count), got {ratio}")
    if n_max < 1 or num_classes < 1:
        raise ConfigError(f"n_max and num_classes must be >= 1, got {n_max} and {num_classes}")
    if num_classes == 1:
        return [int(n_max)]
    # The reference implementations compute n_max * (1/r)^(i/(C-1)) in float64 and truncate.
    counts = [int(n_max * (1.0 / ratio) ** (i / (num_classes - 1.0))) for i in range(num_classes)]
    if min(counts) < 1:
        empty = [i for i, c in enumerate(counts) if c < 1]
        raise ConfigError(
            f"profile n_max={n_max}, ratio={ratio} leaves classes {empty[:5]} empty; "
            "lower the ratio or raise n_max"
        )
    return counts


def assign_groups(
    counts: Sequence[int], rule: GroupRule = "thirds", thresholds: tuple[int, int] = (100, 20)
) -> list[str]:
    """Group name ("many"/"medium"/"few") of each class from its training count.

    ``thirds`` (CIFAR-style): classes sorted by count (descending, ties by class index) are cut
    into three near-equal parts with ``numpy.array_split`` (C=10 -> 4/3/3, C=100 -> 34/33/33);
    classes with equal counts always share a group (a tied run takes the group of its first
    member). ``thresholds`` (ImageNet-LT / Places-LT): many > hi, few < lo, medium otherwise,
    with ``(hi, lo) = thresholds`` (default 100 and 20).
    """
    arr = np.asarray(counts, dtype=np.int64)
    if arr.ndim != 1 or arr.size == 0:
        raise InputError("counts must be a non-empty 1-D sequence")
    if rule == "thresholds":
        hi, lo = thresholds
        return ["many" if c > hi else "few" if c < lo else "medium" for c in arr.tolist()]
    if rule != "thirds":
        raise ConfigError(f"group rule must be 'thirds' or 'thresholds', got {rule!r}")
    order = sorted(range(arr.size), key=lambda i: (-arr[i], i))
    groups = [""] * arr.size
    parts = np.array_split(np.arange(arr.size), 3)
    by_count: dict[int, str] = {}
    for part, name in zip(parts, GROUPS):
        for pos in part.tolist():
            cls = order[pos]
            groups[cls] = by_count.setdefault(int(arr[cls]), name)
    return groups


def imbalance_ratio(counts: Sequence[int]) -> float:
    """max(count) / min(count) over non-empty classes (``inf`` when a class is empty)."""
    c = [int(x) for x in counts]
    return math.inf if min(c) == 0 else max(c) / min(c)
