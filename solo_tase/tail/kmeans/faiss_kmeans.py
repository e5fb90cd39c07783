"""The faiss assignment step: an exact inner-product index over the centroids (on the GPU when
faiss-gpu and CUDA are present and the features are on CUDA, else on the CPU)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from solo_tase.tail.kmeans.lloyd import SphericalKMeans, cluster_sums


class FaissKMeans(SphericalKMeans):
    """Spherical k-means whose nearest-centroid search is ``faiss.IndexFlatIP``."""

    name = "faiss"

    def __init__(self, use_gpu: bool | None = None, init_samples: int | None = None) -> None:
        import faiss

        super().__init__(init_samples)
        self._faiss = faiss
        self.use_gpu = use_gpu
        self._gpu_resources: Any = None

    def _index(self, dim: int, on_cuda: bool) -> Any:
        has_gpu = hasattr(self._faiss, "get_num_gpus") and self._faiss.get_num_gpus() > 0
        if has_gpu and (on_cuda if self.use_gpu is None else self.use_gpu):
            self._gpu_resources = self._gpu_resources or self._faiss.StandardGpuResources()
            return self._faiss.GpuIndexFlatIP(self._gpu_resources, dim)
        return self._faiss.IndexFlatIP(dim)

    def assign(
        self, xn: torch.Tensor, centroids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = xn.float()
        index = self._index(xn.size(1), xn.is_cuda)
        index.add(np.ascontiguousarray(centroids.cpu().numpy(), dtype=np.float32))
        sim, best = index.search(np.ascontiguousarray(rows.cpu().numpy(), dtype=np.float32), 1)
        assign = torch.from_numpy(best[:, 0].astype(np.int64)).to(xn.device)
        sim_t = torch.from_numpy(sim[:, 0].astype(np.float32)).to(xn.device)
        return assign, sim_t, cluster_sums(rows, assign, centroids.size(0))
