"""Pseudo-labels from a memory bank: spherical k-means plus the statistics TASE logs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from solo_tase.tail.kmeans.backend import KMeansBackend
from solo_tase.tail.memory_bank import MemoryBank


@dataclass
class PseudoLabels:
    """assignments [N] (-1 = no pseudo-label), similarity [N] (cosine to own centroid, 0 where
    unlabelled), sizes [K] (samples per cluster) and the run's statistics."""

    assignments: torch.Tensor
    similarity: torch.Tensor
    sizes: torch.Tensor
    stats: dict[str, Any] = field(default_factory=dict)


def cluster_bank(
    bank: MemoryBank, k: int, backend: KMeansBackend, *, n_iter: int, seed: int
) -> PseudoLabels:
    """Cluster the usable rows of ``bank`` (seen at least once, all values finite).

    Rows never written and rows with NaN/inf features are left out of the fit (so they cannot
    poison the centroids) and get assignment -1; ``stats`` reports how many and the first indexes.
    """
    start = time.perf_counter()
    seen = bank.epoch_seen >= 0
    finite = torch.isfinite(bank.features).all(dim=1)
    bad = torch.nonzero(seen & ~finite).flatten()
    use = torch.nonzero(seen & finite).flatten()
    if use.numel() < k:
        raise ValueError(
            f"k-means needs at least K={k} usable samples but the bank has {use.numel()} "
            f"({int((~seen).sum())} never seen, {bad.numel()} non-finite): lower "
            "method_kwargs.num_clusters or train longer before clustering"
        )
    result = backend.fit(bank.features[use], k, n_iter=n_iter, seed=seed)
    n = bank.num_samples
    assignments = torch.full((n,), -1, dtype=torch.long, device=bank.features.device)
    similarity = torch.zeros(n, dtype=torch.float32, device=bank.features.device)
    assignments[use] = result.assignments.to(assignments.device)
    similarity[use] = result.similarity.to(similarity.device).float()
    sizes = result.sizes.to(assignments.device)
    nonempty = sizes[sizes > 0]
    stats: dict[str, Any] = {
        "kmeans_backend": backend.name,
        "kmeans_seconds": time.perf_counter() - start,
        "kmeans_iters": result.n_iter,
        "clustered": int(use.numel()),
        "never_seen": int((~seen).sum()),
        "nonfinite": int(bad.numel()),
        "nonfinite_first_indexes": bad[:10].tolist(),
        "stale": int((seen & (bank.epoch_seen < bank.epoch_seen.max())).sum()),
        "empty_clusters": result.empty_clusters,
        "reseeded_clusters": result.reseeded,
        "imbalance": float(nonempty.max() / nonempty.min()),
        "inertia": result.inertia,
    }
    labelled_targets = bank.targets[use]
    if bool((labelled_targets >= 0).all()):
        from sklearn.metrics import normalized_mutual_info_score

        stats["nmi"] = float(
            normalized_mutual_info_score(
                labelled_targets.cpu().numpy(), result.assignments.cpu().numpy()
            )
        )
    return PseudoLabels(assignments=assignments, similarity=similarity, sizes=sizes, stats=stats)
