"""Spherical k-means in plain torch, on whatever device the features live on.

Memory: the N x K similarity matrix is never materialised; rows are processed in chunks of
``chunk_rows`` (by default sized so one chunk's similarities take ``chunk_mb`` MiB), so 1.2M x 1000
clusters in a few GB. Features may be stored in fp16/bf16: each chunk is cast to fp32 before the
matmul, so similarities and centroid sums accumulate in fp32.

Initialisation: k-means++ (D^2 sampling) on a seeded subsample of at most ``init_samples`` rows
(default ``max(32 K, 16384)``), which keeps the K sequential seeding steps cheap on large N; the
Lloyd iterations then run on all rows. Empty clusters are re-seeded with the samples farthest from
their centroids (as scikit-learn does). Iterations stop early when no assignment changes.
"""

from __future__ import annotations

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
    """k-means++ (D^2) seeding of unit rows ``xn`` [N, D] on a seeded subsample of at most
    ``init_samples`` rows (default ``max(32 K, 16384)``); returns [K, D] fp32 unit centroids."""
    n = xn.size(0)
    m = min(n, init_samples or max(32 * k, 16384))
    rows = torch.randperm(n, generator=gen, device=xn.device)[:m] if m < n else None
    pool = (xn[rows] if rows is not None else xn).float()
    centroids = torch.empty(k, pool.size(1), dtype=torch.float32, device=xn.device)
    first = int(torch.randint(m, (1,), generator=gen, device=xn.device))
    centroids[0] = pool[first]
    min_d = (2.0 - 2.0 * pool @ centroids[0]).clamp_min_(0)  # squared distance on the sphere
    for j in range(1, k):
        if min_d.sum() <= 0:  # every point coincides with a centroid: pick uniformly
            idx = torch.randint(m, (1,), generator=gen, device=xn.device)
        else:
            idx = torch.multinomial(min_d, 1, generator=gen)
        centroids[j] = pool[idx[0]]
        torch.minimum(min_d, (2.0 - 2.0 * pool @ centroids[j]).clamp_min_(0), out=min_d)
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
