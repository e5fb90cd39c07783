"""Spherical k-means behind one small interface, with torch and faiss backends.

Every backend clusters L2-normalised features [N, D] into K clusters (cosine similarity), seeded,
with k-means++ initialisation and empty clusters re-seeded, and returns a :class:`KMeansResult`.
``backend="auto"`` picks faiss when it is importable, else torch.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal, Protocol

import torch

BackendName = Literal["auto", "torch", "faiss"]
BACKENDS: tuple[str, ...] = ("auto", "torch", "faiss")


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


class KMeansBackend(Protocol):
    """What the pseudo-labeler needs from a backend."""

    name: str

    def fit(self, x: torch.Tensor, k: int, *, n_iter: int, seed: int) -> KMeansResult:
        """Cluster ``x`` [N, D] (finite; normalised by the backend) into ``k`` clusters."""
        ...


def faiss_available() -> bool:
    """True when ``import faiss`` would succeed."""
    return importlib.util.find_spec("faiss") is not None


def make_backend(name: str = "auto", **kwargs: object) -> KMeansBackend:
    """Backend by name: ``auto`` (faiss if importable, else torch), ``torch`` or ``faiss``."""
    if name not in BACKENDS:
        raise ValueError(f"k-means backend must be one of {BACKENDS}, got {name!r}")
    if name == "auto":
        name = "faiss" if faiss_available() else "torch"
    if name == "faiss":
        if not faiss_available():
            raise ImportError(
                "k-means backend 'faiss' needs faiss: `pip install faiss-cpu` "
                "(or faiss-gpu-cu12 for GPU; extra `solo-tase[faiss]`), "
                "or set method_kwargs.kmeans_backend=torch"
            )
        from solo_tase.pseudo_labels.faiss_kmeans import FaissKMeans

        return FaissKMeans(**kwargs)  # type: ignore[arg-type]
    from solo_tase.pseudo_labels.torch_kmeans import TorchKMeans

    return TorchKMeans(**kwargs)  # type: ignore[arg-type]


def check_inputs(x: torch.Tensor, k: int) -> None:
    """Shared argument checks: 2-D, finite, 2 <= k <= N."""
    if x.dim() != 2:
        raise ValueError(f"features must be [N, D], got shape {tuple(x.shape)}")
    if not 2 <= k <= x.size(0):
        raise ValueError(f"k-means needs 2 <= K <= N, got K={k} for N={x.size(0)} samples")
    if not torch.isfinite(x).all():
        raise ValueError("features contain NaN/inf; drop those rows before clustering")
