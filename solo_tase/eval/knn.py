"""Weighted cosine k-nearest-neighbour classifier on pre-extracted features.

The rule of InstDisc and of solo-learn's ``WeightedKNNClassifier`` (same defaults: k = 20,
temperature 0.07): each of the ``k`` most cosine-similar probe images votes for its class with
weight ``exp(similarity / temperature)``. Written with torch (a matmul and ``topk`` per chunk of
test images) rather than reusing solo-learn's class: it needs solo-learn, and current torchmetrics
breaks it (docs/developing.md). faiss would add nothing at probe-set sizes.
"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic.dataclasses import dataclass

from solo_tase.settings import SETTINGS, Count, Positive, doc, flag, require


@dataclass(frozen=True, config=SETTINGS)
class KnnOptions:
    """Number of neighbours and softmax temperature of the votes."""

    k: Annotated[Count, doc("neighbours")] = 20
    temperature: Annotated[Positive, doc("vote weight exp(cosine / T)")] = 0.07


KNN = KnnOptions()  # solo-learn's defaults


def check_neighbours(options: KnnOptions, num_train: int) -> None:
    """``ConfigError`` unless ``k`` is at most ``num_train``, the probe images of a run."""
    require(options.k <= num_train, flag("k"), f"in [1, {num_train}] (the probe images)", options.k)


@torch.no_grad()
def knn_predict(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    num_classes: int,
    options: KnnOptions = KNN,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """Predicted labels [M] of ``test_x`` [M, D] from ``train_x`` [N, D], ``train_y`` [N]."""
    check_neighbours(options, len(train_x))
    train = F.normalize(train_x, dim=1)
    preds = []
    for chunk in F.normalize(test_x, dim=1).split(chunk_size):
        sims, idx = (chunk @ train.T).topk(options.k, dim=1)
        votes = torch.zeros(len(chunk), num_classes, dtype=sims.dtype, device=sims.device)
        votes.scatter_add_(1, train_y[idx], (sims / options.temperature).exp())
        preds.append(votes.argmax(dim=1))
    return torch.cat(preds)
