"""The torch assignment step: nearest centroids in row chunks, on the features' device.

The N x K similarity matrix is never materialised: rows go in chunks of ``chunk_rows`` (by
default sized so one chunk's similarities take ``chunk_mb`` MiB), each cast to fp32 before the
matmul, so fp16/bf16 storage still accumulates similarities and centroid sums in fp32.
"""

from __future__ import annotations

import torch

from solo_tase.tail.kmeans.lloyd import SphericalKMeans, cluster_sums


class TorchKMeans(SphericalKMeans):
    """Spherical k-means with a chunked torch assignment."""

    name = "torch"

    def __init__(
        self, chunk_mb: int = 256, chunk_rows: int | None = None, init_samples: int | None = None
    ) -> None:
        super().__init__(init_samples)
        self.chunk_mb = chunk_mb
        self.chunk_rows = chunk_rows

    def assign(
        self, xn: torch.Tensor, centroids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, k = xn.size(0), centroids.size(0)
        chunk = self.chunk_rows or max(1, (self.chunk_mb << 20) // (4 * max(k, xn.size(1))))
        assign = torch.empty(n, dtype=torch.long, device=xn.device)
        sim = torch.empty(n, dtype=torch.float32, device=xn.device)
        sums = torch.zeros_like(centroids)
        for s in range(0, n, chunk):
            xc = xn[s : s + chunk].float()
            best_sim, best = (xc @ centroids.T).max(dim=1)
            assign[s : s + chunk], sim[s : s + chunk] = best, best_sim
            sums += cluster_sums(xc, best, k)
        return assign, sim, sums
