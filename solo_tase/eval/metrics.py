"""Group-wise accuracy of long-tailed evaluation (all numbers in %, 0-100).

- All: top-1 accuracy over every test image.
- per class: the fraction of a class's test images predicted as that class.
- Many / Medium / Few: the mean per-class accuracy of the classes in each group (groups come from
  the pre-training set's manifest; on a balanced test set this equals the accuracy over the
  group's images).
- Std: the population standard deviation of (Many, Medium, Few); lower means more balanced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix

from solo_tase.data.profiles import GROUPS
from solo_tase.errors import InputError

HEADLINE = ("all", *GROUPS, "std")


@dataclass(frozen=True)
class GroupMetrics:
    """Accuracies (%) of one evaluation."""

    all: float
    many: float
    medium: float
    few: float
    std: float
    per_class: tuple[float, ...]

    def headline(self) -> dict[str, float]:
        """``{"all", "many", "medium", "few", "std"}`` -> value."""
        return {key: getattr(self, key) for key in HEADLINE}


def group_metrics(pred: np.ndarray, target: np.ndarray, groups: Sequence[str]) -> GroupMetrics:
    """Metrics of labels ``pred`` [M] against ``target`` [M]; ``groups[c]`` is class c's group."""
    num_classes = len(groups)
    cm = confusion_matrix(np.asarray(target), np.asarray(pred), labels=np.arange(num_classes))
    support = cm.sum(axis=1)
    if (support == 0).any():
        raise InputError(
            f"the test set has no images of classes "
            f"{np.flatnonzero(support == 0).tolist()[:10]}: per-class accuracy needs "
            "every class"
        )
    per_class = 100.0 * np.diag(cm) / support
    by_group = {}
    for name in GROUPS:
        members = [c for c, g in enumerate(groups) if g == name]
        if not members:
            raise InputError(
                f"no class is in the '{name}' group of the manifest: Many/Medium/Few "
                "need all three groups (use the long-tailed pre-training manifest)"
            )
        by_group[name] = float(per_class[members].mean())
    return GroupMetrics(
        all=float(100.0 * np.trace(cm) / cm.sum()),
        **by_group,
        std=float(np.std(list(by_group.values()))),
        per_class=tuple(float(a) for a in per_class),
    )


def summarize(
    runs: Sequence[GroupMetrics],
) -> tuple[dict[str, float], dict[str, float] | None, list[float]]:
    """Mean headline metrics, their population std over ``runs`` (None for one run), and the
    mean per-class accuracies."""
    table = np.array([[r.headline()[k] for k in HEADLINE] for r in runs])
    mean = dict(zip(HEADLINE, table.mean(axis=0).tolist()))
    std = dict(zip(HEADLINE, table.std(axis=0).tolist())) if len(runs) > 1 else None
    per_class = np.mean([r.per_class for r in runs], axis=0).tolist()
    return mean, std, per_class
