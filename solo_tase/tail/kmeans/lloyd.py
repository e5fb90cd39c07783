"""Spherical k-means: one seeded Lloyd loop; a backend supplies only the assignment step.

Rows are L2-normalised (cosine similarity), seeded with greedy k-means++ and refined by Lloyd
iterations until no assignment changes; empty clusters are re-seeded with the samples farthest
from their centroids (as scikit-learn does). docs/method.md explains the choices.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
import torch.nn.functional as F

NORM_CHUNK = 65536  # rows normalised per step


@dataclass
class KMeansResult:
    """Output contract of every backend (tensors on the input's device).

    assignments: [N] int64 cluster of each sample; centroids: [K, D] fp32, unit norm;
    sizes: [K] int64 samples per cluster; similarity: [N] fp32 cosine similarity of each sample
    to its own centroid; inertia: sum of squared euclidean distances to the assigned (unit)
    centroids, = sum(2 - 2 * similarity); reseeded: empty clusters re-seeded during the fit;
    n_iter: Lloyd iterations run.
    """

    assignments: torch.Tensor
    centroids: torch.Tensor
    sizes: torch.Tensor
    similarity: torch.Tensor
    inertia: float
    reseeded: int
    n_iter: int

    @property
    def empty_clusters(self) -> int:
        return int((self.sizes == 0).sum())


class SphericalKMeans(ABC):
    """The Lloyd loop; a backend implements :meth:`assign` and sets ``name``."""

    name = "base"

    def __init__(self, init_samples: int | None = None) -> None:
        self.init_samples = init_samples  # k-means++ pool size (default max(32 K, 16384))

    @abstractmethod
    def assign(
        self, xn: torch.Tensor, centroids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Nearest centroid of every unit row of ``xn`` [N, D] among ``centroids`` [K, D] fp32:
        (assignments [N] int64, similarity [N] fp32, fp32 sums of the rows per cluster [K, D])."""

    def fit(self, x: torch.Tensor, k: int, *, n_iter: int = 20, seed: int = 0) -> KMeansResult:
        """Cluster ``x`` [N, D] (finite; any float dtype, kept for storage) into ``k`` clusters."""
        check_inputs(x, k)
        xn = normalise_rows(x, NORM_CHUNK)
        gen = torch.Generator(device=x.device).manual_seed(seed)
        centroids = kmeans_pp(xn, k, gen, self.init_samples)
        prev = None
        reseeded, it = 0, 0
        while it < n_iter:
            it += 1
            assign, sim, sums = self.assign(xn, centroids)
            counts = torch.bincount(assign, minlength=k)
            centroids = F.normalize(sums, dim=1)
            empty = torch.nonzero(counts == 0).flatten()
            if empty.numel():
                # farthest samples (lowest similarity to their centroid) become the new centroids
                far = torch.topk(sim, empty.numel(), largest=False).indices
                centroids[empty] = xn[far].float()
                reseeded += empty.numel()
            converged = prev is not None and bool((assign == prev).all()) and not empty.numel()
            prev = assign
            if converged:
                break
        assign, sim, _ = self.assign(xn, centroids)
        inertia = float((2.0 - 2.0 * sim.double()).clamp_min(0).sum())
        return KMeansResult(
            assignments=assign,
            centroids=centroids,
            sizes=torch.bincount(assign, minlength=k),
            similarity=sim,
            inertia=inertia,
            reseeded=reseeded,
            n_iter=it,
        )


def check_inputs(x: torch.Tensor, k: int) -> None:
    """Argument checks: 2-D, finite, 2 <= k <= N."""
    if x.dim() != 2:
        raise ValueError(f"features must be [N, D], got shape {tuple(x.shape)}")
    if not 2 <= k <= x.size(0):
        raise ValueError(f"k-means needs 2 <= K <= N, got K={k} for N={x.size(0)} samples")
    if not torch.isfinite(x).all():
        raise ValueError("features contain NaN/inf; drop those rows before clustering")


def kmeans_pp(
    xn: torch.Tensor, k: int, gen: torch.Generator, init_samples: int | None = None
) -> torch.Tensor:
    """Greedy k-means++ seeding (as scikit-learn's) of unit rows ``xn`` [N, D].

    Works on a seeded subsample of at most ``init_samples`` rows (default ``max(32 K, 16384)``).
    Each step draws ``2 + log K`` candidates by D^2 sampling and keeps the one that lowers the
    potential most: plain k-means++ misses small (tail) clusters too often on long-tailed data.
    Returns [K, D] fp32 unit centroids.
    """
    n = xn.size(0)
    m = min(n, init_samples or max(32 * k, 16384))
    rows = torch.randperm(n, generator=gen, device=xn.device)[:m] if m < n else None
    pool = (xn[rows] if rows is not None else xn).float()
    trials = 2 + int(math.log(k))
    centroids = torch.empty(k, pool.size(1), dtype=torch.float32, device=xn.device)
    first = int(torch.randint(m, (1,), generator=gen, device=xn.device))
    centroids[0] = pool[first]
    min_d = (2.0 - 2.0 * torch.mv(pool, centroids[0])).clamp_min_(0)  # squared distance
    for j in range(1, k):
        # D^2 sampling by inverse CDF (cumsum + searchsorted): the distribution of
        # torch.multinomial, several times faster on large pools
        cdf = torch.cumsum(min_d, 0)
        if cdf[-1] <= 0:  # every point coincides with a centroid: pick uniformly
            cand = torch.randint(m, (trials,), generator=gen, device=xn.device)
        else:
            u = torch.rand(trials, generator=gen, device=xn.device) * cdf[-1]
            cand = torch.searchsorted(cdf, u).clamp_max_(m - 1)
        d = (2.0 - 2.0 * (pool @ pool[cand].T)).clamp_min_(0)  # [m, L]
        best = int(torch.minimum(min_d[:, None], d).sum(0).argmin())
        centroids[j] = pool[cand[best]]
        torch.minimum(min_d, d[:, best], out=min_d)
    return centroids


def cluster_sums(rows: torch.Tensor, assign: torch.Tensor, k: int) -> torch.Tensor:
    """fp32 sums [K, D] of ``rows`` [n, D] per cluster ``assign`` [n]: a sparse one-hot product,
    many times faster than ``index_add_`` on CPU."""
    n = assign.numel()
    at = torch.stack([assign, torch.arange(n, device=assign.device)])
    one_hot = torch.sparse_coo_tensor(
        at, torch.ones(n, device=rows.device), (k, n), check_invariants=False
    )
    return torch.sparse.mm(one_hot, rows.float())


def normalise_rows(x: torch.Tensor, chunk: int) -> torch.Tensor:
    """L2-normalise rows chunk by chunk in fp32, keeping the storage dtype of ``x``."""
    out = torch.empty_like(x)
    for s in range(0, x.size(0), chunk):
        out[s : s + chunk] = F.normalize(x[s : s + chunk].float(), dim=1).to(x.dtype)
    return out
