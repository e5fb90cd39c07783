"""Per-sample temperature and weight tables from pseudo-labels (pure tensor functions).

Given each sample's cluster size ``n_c`` (its pseudo-class frequency) and cosine similarity ``s``
to its centroid:

- temperature: ``q = (log n_c - log n_min) / (log n_max - log n_min)`` (0 when all sizes are equal),
  ``r`` = rank of ``s`` among the samples scaled to [0, 1] (1 = most typical),
  ``h = (1 - beta) q + beta r``, ``tau = tau_min + (tau_max - tau_min) h``.
  Rare, atypical samples get a small tau (instance discrimination); frequent, typical samples
  get a large tau (group-wise discrimination).
- weight: ``power``: ``(mean_k n_k / n_c)^gamma``; ``effective``: ``(1 - b) / (1 - b^n_c)``
  (effective number of samples); ``none``: 1. Then clipped to ``[w_min, w_max]`` and normalised
  to mean 1 over all samples.
- dynamic temperature (optional cosine schedule, ``t`` and ``period`` in epochs):
  ``tau(t) = tau_min + (tau - tau_min) (1 + cos(pi t / period)) / 2``.

Samples without a pseudo-label (``cluster_size == 0``: never seen, or non-finite features) get
``tau_0`` and weight 1 before the normalisation.
"""

from __future__ import annotations

import math

import torch


def rank01(values: torch.Tensor) -> torch.Tensor:
    """Rank of each entry of ``values`` [N] scaled to [0, 1] (0 = smallest; ties by position)."""
    n = values.numel()
    if n <= 1:
        return torch.zeros_like(values, dtype=torch.float32)
    order = torch.argsort(values, stable=True)
    ranks = torch.empty(n, dtype=torch.float32, device=values.device)
    ranks[order] = torch.arange(n, dtype=torch.float32, device=values.device)
    return ranks / (n - 1)


def temperature_table(cluster_size: torch.Tensor, similarity: torch.Tensor, *, tau_min: float,
                      tau_max: float, beta: float, tau_0: float) -> torch.Tensor:
    """Temperature [N] (fp32) from each sample's cluster size [N] and centroid similarity [N]."""
    valid = cluster_size > 0
    tau = torch.full(cluster_size.shape, float(tau_0), dtype=torch.float32,
                     device=cluster_size.device)
    if not valid.any():
        return tau
    log_n = torch.log(cluster_size[valid].double())
    lo, hi = log_n.min(), log_n.max()
    q = ((log_n - lo) / (hi - lo)).float() if hi > lo else torch.zeros_like(log_n, dtype=torch.float32)
    r = rank01(similarity[valid].float())
    h = (1.0 - beta) * q + beta * r
    tau[valid] = tau_min + (tau_max - tau_min) * h
    return tau


def sample_cluster_sizes(assignments: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Size of each sample's cluster [N] (int64; 0 where ``assignments`` is -1 = unlabelled)."""
    out = torch.zeros_like(assignments)
    labelled = assignments >= 0
    out[labelled] = sizes[assignments[labelled]]
    return out


def weight_table(cluster_size: torch.Tensor, sizes: torch.Tensor, *, scheme: str,
                 gamma: float = 0.5, effective_beta: float = 0.999, w_min: float = 0.1,
                 w_max: float = 10.0) -> torch.Tensor:
    """Loss weight [N] (fp32, mean 1) from each sample's cluster size [N] (0 = unlabelled).

    ``sizes`` [K] are the cluster sizes; ``mean_k n_k`` runs over the non-empty clusters.
    """
    valid = cluster_size > 0
    w = torch.ones(cluster_size.shape, dtype=torch.float64, device=cluster_size.device)
    if valid.any() and scheme != "none":
        n = cluster_size[valid].double()
        if scheme == "power":
            mean_size = sizes[sizes > 0].double().mean()
            w[valid] = (mean_size / n) ** gamma
        elif scheme == "effective":
            w[valid] = (1.0 - effective_beta) / (1.0 - effective_beta ** n)
        else:
            raise ValueError(f"weighting must be 'power', 'effective' or 'none', got {scheme!r}")
    w = w.clamp(w_min, w_max)
    return (w / w.mean()).float()


def cosine_factor(t: float, period: float) -> float:
    """``(1 + cos(pi t / period)) / 2``: 1 at t=0, 0 at t=period, 1 again at t=2*period."""
    return 0.5 * (1.0 + math.cos(math.pi * t / period))


def scheduled_temperature(tau: torch.Tensor, tau_min: float, t: float,
                          period: float) -> torch.Tensor:
    """Dynamic temperature ``tau_min + (tau - tau_min) * cosine_factor(t, period)``."""
    return tau_min + (tau - tau_min) * cosine_factor(t, period)
