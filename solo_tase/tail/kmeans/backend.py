"""Spherical k-means backends by name: ``torch`` (chunked, any device) or ``faiss``.

Both run the same Lloyd loop (:mod:`solo_tase.tail.kmeans.lloyd`) and differ only in the
nearest-centroid search; ``auto`` picks faiss when it is importable, else torch.
"""

from __future__ import annotations

import importlib.util
from typing import Protocol

import torch

from solo_tase.errors import MissingDependency
from solo_tase.tail.kmeans.lloyd import KMeansResult
from solo_tase.tail.kmeans.torch_kmeans import TorchKMeans

__all__ = ["BACKENDS", "KMeansBackend", "KMeansResult", "faiss_available", "make_backend"]

BACKENDS: tuple[str, ...] = ("auto", "torch", "faiss")


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
    if name == "torch":
        return TorchKMeans(**kwargs)  # type: ignore[arg-type]
    if not faiss_available():
        raise MissingDependency(
            "k-means backend 'faiss' needs faiss: `pip install faiss-cpu` "
            "(or faiss-gpu-cu12 for GPU; extra `solo-tase[faiss]`), "
            "or set method_kwargs.kmeans_backend=torch"
        )
    from solo_tase.tail.kmeans.faiss_kmeans import FaissKMeans  # imports faiss

    return FaissKMeans(**kwargs)  # type: ignore[arg-type]
