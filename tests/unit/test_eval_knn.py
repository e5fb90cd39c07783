"""Weighted cosine kNN on hand-built features: the temperature decides close-vs-many votes."""

from __future__ import annotations

import math

import pytest
import torch

from solo_tase.eval.knn import KnnOptions, knn_predict


def angle(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


# One class-0 neighbour very close to the query (at 0 degrees), two class-1 neighbours further
# away (at 40 and -40 degrees); a class-2 point opposite.
TRAIN = torch.tensor([angle(5), angle(40), angle(-40), angle(180)]) * torch.tensor(
    [[1.0], [2.0], [0.5], [3.0]]
)  # norms differ: cosine ignores them
LABELS = torch.tensor([0, 1, 1, 2])
QUERY = torch.tensor([angle(0)])


def test_sharp_temperature_trusts_the_closest_neighbour():
    assert knn_predict(TRAIN, LABELS, QUERY, 3, KnnOptions(k=3, temperature=0.01)).item() == 0


def test_flat_temperature_counts_votes():
    assert knn_predict(TRAIN, LABELS, QUERY, 3, KnnOptions(k=3, temperature=100.0)).item() == 1


def test_cosine_ignores_norms_and_k1_is_nearest_neighbour():
    queries = torch.tensor([angle(170), angle(30), angle(2)]) * 7
    pred = knn_predict(TRAIN, LABELS, queries, 3, KnnOptions(k=1), chunk_size=2)
    assert pred.tolist() == [2, 1, 0]


def test_k_larger_than_the_probe_set_is_refused():
    with pytest.raises(ValueError, match=r"--k must be in \[1, 4\]"):
        knn_predict(TRAIN, LABELS, QUERY, 3, KnnOptions(k=5))
