"""Group metrics on hand-built predictions: ties in the group rule, class-mean groups, Std."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solo_tase.data.profiles import assign_groups
from solo_tase.eval.metrics import GroupMetrics, group_metrics, summarize


def test_hand_built_predictions_with_tied_counts():
    # Classes 1 and 2 tie at 60 across the many/medium cut: the tie stays in "many".
    groups = assign_groups([100, 60, 60, 40, 20, 10], "thirds")
    assert groups == ["many", "many", "many", "medium", "few", "few"]
    target = np.repeat(np.arange(6), 2)
    # correct per class: 2, 1, 0, 2, 2, 0 of 2
    pred = np.array([0, 0, 1, 5, 0, 0, 3, 3, 4, 4, 1, 2])
    m = group_metrics(pred, target, groups)
    assert m.per_class == (100.0, 50.0, 0.0, 100.0, 100.0, 0.0)
    assert m.all == pytest.approx(100 * 7 / 12)
    assert (m.many, m.medium, m.few) == (50.0, 100.0, 50.0)
    # population std of (50, 100, 50) = 50 * sqrt(2) / 3 (the sample std would be 28.87)
    assert m.std == pytest.approx(50 * math.sqrt(2) / 3)
    assert m.headline() == {"all": m.all, "many": 50.0, "medium": 100.0, "few": 50.0, "std": m.std}


def test_group_accuracy_is_the_mean_of_its_classes():
    # many: class 0 has 4 images (all right), class 1 one image (wrong): 50%, not 80%.
    target = np.array([0, 0, 0, 0, 1, 2, 3])
    pred = np.array([0, 0, 0, 0, 0, 2, 3])
    m = group_metrics(pred, target, ["many", "many", "medium", "few"])
    assert m.many == 50.0 and m.medium == 100.0 and m.few == 100.0
    assert m.all == pytest.approx(100 * 6 / 7)


def test_missing_test_class_and_empty_group_are_refused():
    with pytest.raises(ValueError, match=r"no images of classes \[2\]"):
        group_metrics(np.array([0, 1]), np.array([0, 1]), ["many", "medium", "few"])
    with pytest.raises(ValueError, match="'medium' group"):
        group_metrics(np.array([0, 1]), np.array([0, 1]), ["many", "few"])


def test_summarize_means_and_population_std_over_seeds():
    a = GroupMetrics(all=80, many=90, medium=80, few=70, std=8, per_class=(90.0, 80.0, 70.0))
    b = GroupMetrics(all=70, many=80, medium=70, few=60, std=8, per_class=(80.0, 70.0, 60.0))
    mean, std, per_class = summarize([a, b])
    assert mean == {"all": 75, "many": 85, "medium": 75, "few": 65, "std": 8}
    assert std == {"all": 5, "many": 5, "medium": 5, "few": 5, "std": 0}
    assert per_class == [85, 75, 65]
    assert summarize([a])[1] is None
