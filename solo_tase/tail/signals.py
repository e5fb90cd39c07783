"""Tail signals: which samples are rare, estimated without labels (docs/method.md).

Each signal turns the memory bank (and, for ``memorisation``, the per-sample momentum losses)
into a :class:`TailEstimate`: an estimated log relative frequency per sample, an optional
typicality, and the clustering it came from (if any).

- ``kmeans``: size of the sample's cluster among K spherical k-means clusters.
- ``overcluster``: the same with K' = factor x K clusters; sizes of the fine clusters (``fine``),
  or of K groups of fine clusters obtained by clustering their centroids (``merged``).
- ``knn_density``: mean cosine similarity to the k nearest neighbours in the bank (chunked: the
  N x N similarity matrix is never materialised), standardised; optionally in the whitened bank,
  where a direction only a rare class uses is as wide as a shared one.
- ``memorisation``: minus the momentum loss (BCL's moving average of each sample's own contrastive
  loss over epochs), standardised: samples learned late are taken for rare.
- ``oracle``: the size of the sample's true class, from the labels, on the k-means scale. A
  measurement device (the upper bound of every signal), never a default; refused on unlabelled
  data. :func:`degrade` makes it worse in a controlled way (noise on the log counts, a compressed
  range): how good a signal must be, measured with the labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F

from solo_tase.tail.kmeans.backend import KMeansBackend
from solo_tase.tail.kmeans.labeler import cluster_bank
from solo_tase.tail.memory_bank import MemoryBank
from solo_tase.tail.tables import (
    log_freq_from_ranks,
    log_freq_from_scores,
    log_freq_from_sizes,
    sample_cluster_sizes,
)

TAIL_SIGNALS: tuple[str, ...] = ("kmeans", "overcluster", "knn_density", "memorisation", "oracle")
CLUSTERING_SIGNALS: frozenset[str] = frozenset({"kmeans", "overcluster"})


@dataclass
class TailEstimate:
    """log_freq [N] fp32 (NaN = no estimate), typicality [N] fp32 or None, assignments [N] int64
    (-1 = none), sizes [K] int64 (empty for signals without clustering), and statistics."""

    log_freq: torch.Tensor
    typicality: torch.Tensor | None
    assignments: torch.Tensor
    sizes: torch.Tensor
    stats: dict[str, Any] = field(default_factory=dict)


def num_fit_clusters(signal: str, num_clusters: int, overcluster_factor: int) -> int:
    """Clusters of the k-means fit of ``signal`` (0 for signals without clustering)."""
    if signal == "kmeans":
        return num_clusters
    if signal == "overcluster":
        return num_clusters * overcluster_factor
    return 0


def from_clusters(
    bank: MemoryBank,
    k: int,
    backend: KMeansBackend,
    *,
    n_iter: int,
    seed: int,
    merge_to: int | None = None,
) -> TailEstimate:
    """k-means cluster sizes; with ``merge_to`` the fine clusters' centroids are clustered into
    ``merge_to`` groups and each sample takes its group's size."""
    labels = cluster_bank(bank, k, backend, n_iter=n_iter, seed=seed)
    sizes = labels.sizes
    per_sample = sample_cluster_sizes(labels.assignments, sizes)
    if merge_to is not None:
        used = labels.assignments >= 0
        centroids = torch.zeros(k, bank.features.size(1), device=sizes.device)
        centroids.index_add_(0, labels.assignments[used], bank.features[used].float())
        filled = sizes > 0
        group = torch.full((k,), -1, dtype=torch.long, device=sizes.device)
        fit = backend.fit(F.normalize(centroids[filled], dim=1), merge_to, n_iter=n_iter, seed=seed)
        group[filled] = fit.assignments.to(group.device)
        group_sizes = torch.zeros(merge_to, dtype=torch.long, device=sizes.device)
        group_sizes.index_add_(0, group[filled], sizes[filled])
        per_sample = sample_cluster_sizes(
            torch.where(used, group[labels.assignments.clamp_min(0)], -1), group_sizes
        )
        labels.stats["merged_imbalance"] = float(
            group_sizes.max() / group_sizes[group_sizes > 0].min()
        )
        sizes_for_mean = group_sizes
    else:
        sizes_for_mean = sizes
    return TailEstimate(
        log_freq=log_freq_from_sizes(per_sample, sizes_for_mean),
        typicality=labels.similarity,
        assignments=labels.assignments,
        sizes=sizes,
        stats=labels.stats,
    )


@torch.no_grad()
def nearest(
    features: torch.Tensor, k: int, chunk_mb: int = 256
) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor]]:
    """The ``k`` nearest other rows of each unit row of ``features`` [N, D], a chunk of rows at a
    time: (the chunk's rows, cosine similarities [chunk, k] fp32 most similar first, their indexes
    [chunk, k] int64). A chunk's [chunk, N] similarity block takes at most ``chunk_mb`` MiB: the
    N x N matrix never exists."""
    n = features.size(0)
    k = min(k, n - 1)
    x = features.float()
    chunk = max(1, (chunk_mb << 20) // (4 * n))
    for s in range(0, n, chunk):
        sim = x[s : s + chunk] @ x.T
        rows = torch.arange(sim.size(0), device=sim.device)
        sim[rows, s + rows] = -float("inf")
        top = sim.topk(k, dim=1)
        yield slice(s, s + sim.size(0)), top.values, top.indices


def knn_density(features: torch.Tensor, k: int, chunk_mb: int = 256) -> torch.Tensor:
    """Mean cosine similarity [N] of each unit row of ``features`` [N, D] to its ``k`` nearest
    other rows (:func:`nearest`)."""
    out = torch.empty(features.size(0), dtype=torch.float32, device=features.device)
    for rows, sims, _ in nearest(features, k, chunk_mb):
        out[rows] = sims.mean(dim=1)
    return out


@torch.no_grad()
def whiten(features: torch.Tensor, rel_eps: float = 1e-6) -> torch.Tensor:
    """Rows of ``features`` [N, D] centred and expressed in the principal directions of their
    covariance, each scaled to unit variance: [N, R] fp32, R the directions whose variance exceeds
    ``rel_eps`` times the largest. Exact (an fp64 eigendecomposition of the [D, D] covariance), so
    deterministic; a direction that only a few samples use gets as much room as a shared one."""
    x = features.double()
    x = x - x.mean(dim=0)
    var, vec = torch.linalg.eigh(x.T @ x / max(x.size(0) - 1, 1))
    keep = var > var.max() * rel_eps
    return (x @ vec[:, keep] / var[keep].sqrt()).float()


@dataclass(frozen=True)
class ScoreMapping:
    """How a score that is not a count (kNN density, memorisation) becomes a log relative
    frequency: standardised times ``scale`` log-units, or, with ``profile_ratio``, its ranks
    mapped onto an exponential profile of that head / tail ratio over ``num_classes`` classes."""

    scale: float = 1.0
    profile_ratio: float | None = None
    num_classes: int = 100

    def log_freq(self, score: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Log relative frequency [N] fp32 of ``score`` [N] (NaN where not ``valid``)."""
        if self.profile_ratio is None:
            return log_freq_from_scores(score, valid, self.scale)
        return log_freq_from_ranks(score, valid, self.profile_ratio, self.num_classes)


def from_knn_density(
    bank: MemoryBank, k: int, mapping: ScoreMapping, space: str = "cosine"
) -> TailEstimate:
    """kNN density on the usable rows of the bank (seen, finite), as ``mapping`` says; ``space``
    ``whitened`` takes the neighbours after :func:`whiten` (rows re-normalised)."""
    usable = (bank.epoch_seen >= 0) & torch.isfinite(bank.features).all(dim=1)
    density = torch.zeros(bank.num_samples, dtype=torch.float32, device=bank.features.device)
    rows = bank.features[usable]
    if space == "whitened":
        rows = F.normalize(whiten(rows), dim=1)
    elif space != "cosine":
        raise ValueError(f"knn_space must be 'cosine' or 'whitened', got {space!r}")
    density[usable] = knn_density(rows, k)
    return from_scores(density, usable, mapping)


class UnlabelledError(ValueError):
    """The oracle signal was asked for on samples without labels."""


def from_labels(targets: torch.Tensor, seen: torch.Tensor) -> TailEstimate:
    """The oracle: ``log(n_c / mean_k n_k)`` with ``n_c`` the count of the sample's true class
    among the ``seen`` [N] samples of ``targets`` [N] (-1 = no label).

    Raises:
        UnlabelledError: a seen sample has no label (the data is unlabelled).
    """
    unlabelled = seen & (targets < 0)
    if unlabelled.any():
        first = torch.nonzero(unlabelled).flatten()[:5].tolist()
        raise UnlabelledError(
            f"method_kwargs.tail_signal=oracle reads each sample's true class, but "
            f"{int(unlabelled.sum())} sample(s) have none (first indexes {first}): the oracle is "
            "a measurement device for labelled data; use knn_density, kmeans, overcluster or "
            "memorisation on unlabelled data"
        )
    labels = torch.where(seen, targets, torch.full_like(targets, -1))
    sizes = torch.bincount(labels[seen], minlength=1)
    per_sample = sample_cluster_sizes(labels, sizes)
    return TailEstimate(
        log_freq=log_freq_from_sizes(per_sample, sizes),
        typicality=None,
        assignments=torch.full_like(targets, -1),
        sizes=torch.zeros(0, dtype=torch.long, device=targets.device),
        stats={"clustered": int(seen.sum())},
    )


def degrade(est: TailEstimate, *, noise: float, imbalance: float | None, seed: int) -> TailEstimate:
    """The oracle's estimate with a controlled error (a measurement device, never a default).

    The log relative frequencies [N] are first scaled so that the head / tail class ratio they
    carry becomes ``imbalance`` (None: the true ratio), then each sample gets Gaussian noise of
    ``noise`` standard deviations of those log frequencies (over the samples with an estimate).
    The noise is drawn from ``seed`` for every index at once, so a sample keeps its error at every
    estimate of a run, as a real signal's errors persist.
    """
    lf = est.log_freq.double()
    valid = torch.isfinite(lf)
    if int(valid.sum()) < 2:
        return est
    if imbalance is not None:
        span = lf[valid].max() - lf[valid].min()
        if span > 0:
            lf = lf * (math.log(imbalance) / span)
    if noise > 0:
        g = torch.Generator().manual_seed(seed)
        eps = torch.randn(lf.numel(), generator=g, dtype=torch.float64).to(lf.device)
        lf = lf + noise * lf[valid].std() * eps
    stats = dict(est.stats, oracle_noise=noise, oracle_imbalance=imbalance)
    return replace(est, log_freq=lf.float(), stats=stats)


def from_scores(score: torch.Tensor, valid: torch.Tensor, mapping: ScoreMapping) -> TailEstimate:
    """A per-sample score [N] (higher = more frequent), mapped to log frequencies."""
    n = score.numel()
    return TailEstimate(
        log_freq=mapping.log_freq(score, valid),
        typicality=None,
        assignments=torch.full((n,), -1, dtype=torch.long, device=score.device),
        sizes=torch.zeros(0, dtype=torch.long, device=score.device),
        stats={"clustered": int(valid.sum())},
    )
