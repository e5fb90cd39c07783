"""Spherical k-means in plain torch, on whatever device the features live on.

Memory: the N x K similarity matrix is never materialised; rows are processed in chunks of
``chunk_rows`` (by default sized so one chunk's similarities take ``chunk_mb`` MiB), so 1.2M x 1000
clusters in a few GB. Features may be stored in fp16/bf16: each chunk is cast to fp32 before the
matmul, so similarities and centroid sums accumulate in fp32.

Initialisation: greedy k-means++ (scikit-learn's variant: ``2 + log K`` D^2-sampled candidates
per step, the best kept) on a seeded subsample of at most ``init_samples`` rows (default
``max(32 K, 16384)``), which keeps the K sequential seeding steps cheap on large N; the Lloyd
iterations then run on all rows. Empty clusters are re-seeded with the samples farthest from
their centroids (as scikit-learn does). Iterations stop early when no assignment changes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from solo_tase.pseudo_labels.kmeans import KMeansResult, check_inputs


class TorchKMeans:
    """Chunked spherical k-means (see module docstring)."""

    name = "torch"

    def __init__(self, chunk_mb: int = 256, chunk_rows: int | None = None,
                 init_samples: int | None = None) -> None:
        self.chunk_mb = chunk_mb
        self.chunk_rows = chunk_rows
        self.init_samples = init_samples

    def fit(self, x: torch.Tensor, k: int, *, n_iter: int = 20, seed: int = 0) -> KMeansResult:
        check_inputs(x, k)
        chunk = self.chunk_rows or max(1, (self.chunk_mb << 20) // (4 * max(k, x.size(1))))
        xn = normalise_rows(x, chunk)
        gen = torch.Generator(device=x.device).manual_seed(seed)
        centroids = kmeans_pp(xn, k, gen, self.init_samples)

        prev = None
        reseeded, it = 0, 0
        for it in range(1, n_iter + 1):
            assign, sim, sums, counts = _assign(xn, centroids, chunk)
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
        assign, sim, _, counts = _assign(xn, centroids, chunk)
        inertia = float((2.0 - 2.0 * sim.double()).clamp_min(0).sum())
        return KMeansResult(assignments=assign, centroids=centroids, sizes=counts,
                            similarity=sim, inertia=inertia, reseeded=reseeded, n_iter=it)


def kmeans_pp(xn: torch.Tensor, k: int, gen: torch.Generator,
              init_samples: int | None = None) -> torch.Tensor:
    """Greedy k-means++ seeding (as scikit-learn's) of unit rows ``xn`` [N, D].

    Works on a seeded subsample of at most ``init_samples`` rows (default ``max(32 K, 16384)``).
    Each step draws ``2 + log K`` candidates by D^2 sampling and keeps the one that lowers the
    potential most: plain k-means++ misses small (tail) clusters too often on long-tailed data.
    The candidates' distances are one [m, L] matmul, so the greedy step costs little more than a
    plain one. Returns [K, D] fp32 unit centroids.
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


def normalise_rows(x: torch.Tensor, chunk: int) -> torch.Tensor:
    """L2-normalise rows chunk by chunk in fp32, keeping the storage dtype of ``x``."""
    out = torch.empty_like(x)
    for s in range(0, x.size(0), chunk):
        out[s:s + chunk] = F.normalize(x[s:s + chunk].float(), dim=1).to(x.dtype)
    return out


def _assign(xn: torch.Tensor, centroids: torch.Tensor, chunk: int
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nearest centroid of every row: (assign [N], similarity [N], sums [K, D], counts [K])."""
    n, k = xn.size(0), centroids.size(0)
    assign = torch.empty(n, dtype=torch.long, device=xn.device)
    sim = torch.empty(n, dtype=torch.float32, device=xn.device)
    sums = torch.zeros_like(centroids)
    for s in range(0, n, chunk):
        xc = xn[s:s + chunk].float()
        best_sim, best = (xc @ centroids.T).max(dim=1)
        assign[s:s + chunk], sim[s:s + chunk] = best, best_sim
        sums.index_add_(0, best, xc)
    counts = torch.bincount(assign, minlength=k)
    return assign, sim, sums, counts
