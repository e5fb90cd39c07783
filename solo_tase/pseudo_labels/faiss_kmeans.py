"""Spherical k-means with faiss (GPU index when faiss-gpu and CUDA are present, else CPU).

Initialisation is our seeded greedy k-means++ (``torch_kmeans.kmeans_pp``) passed to faiss as the
initial centroids: faiss's own initialisation is a uniform random draw, which on long-tailed data
spends most centroids on the head and misses tail clusters (higher inertia than scikit-learn's
k-means++: see benchmarks/kmeans_backends.py and docs/results.md). faiss re-seeds empty clusters by
splitting the largest ones. No subsampling: ``max_points_per_centroid`` is raised to N so that
every sample takes part.
"""

from __future__ import annotations

import numpy as np
import torch

from solo_tase.pseudo_labels.kmeans import KMeansResult, check_inputs
from solo_tase.pseudo_labels.torch_kmeans import kmeans_pp, normalise_rows


class FaissKMeans:
    """faiss.Kmeans(spherical=True) with k-means++ initial centroids."""

    name = "faiss"

    def __init__(self, use_gpu: bool | None = None, init_samples: int | None = None) -> None:
        import faiss

        self._faiss = faiss
        self.use_gpu = use_gpu
        self.init_samples = init_samples

    def _gpu(self, x: torch.Tensor) -> bool:
        has_gpu = hasattr(self._faiss, "get_num_gpus") and self._faiss.get_num_gpus() > 0
        return has_gpu and x.is_cuda if self.use_gpu is None else self.use_gpu and has_gpu

    def fit(self, x: torch.Tensor, k: int, *, n_iter: int = 20, seed: int = 0) -> KMeansResult:
        check_inputs(x, k)
        device = x.device
        xn_t = normalise_rows(x.float(), chunk=65536)
        gen = torch.Generator(device=device).manual_seed(seed)
        init = kmeans_pp(xn_t, k, gen, self.init_samples).cpu().numpy()
        xn = np.ascontiguousarray(xn_t.cpu().numpy(), dtype=np.float32)
        km = self._faiss.Kmeans(
            xn.shape[1], k, niter=n_iter, seed=seed, spherical=True, gpu=self._gpu(x),
            min_points_per_centroid=1, max_points_per_centroid=max(1, xn.shape[0]), verbose=False,
        )
        km.train(xn, init_centroids=init)
        centroids = km.centroids / np.linalg.norm(km.centroids, axis=1, keepdims=True).clip(1e-12)
        index = self._faiss.IndexFlatIP(xn.shape[1])
        index.add(np.ascontiguousarray(centroids, dtype=np.float32))
        sim, assign = index.search(xn, 1)
        assign_t = torch.from_numpy(assign[:, 0].astype(np.int64)).to(device)
        sim_t = torch.from_numpy(sim[:, 0].astype(np.float32)).to(device)
        sizes = torch.bincount(assign_t, minlength=k)
        inertia = float((2.0 - 2.0 * sim_t.double()).clamp_min(0).sum())
        return KMeansResult(assignments=assign_t, centroids=torch.from_numpy(centroids).to(device),
                            sizes=sizes, similarity=sim_t, inertia=inertia, reseeded=0,
                            n_iter=n_iter)
