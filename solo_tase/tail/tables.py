"""Per-sample temperature and weight tables from a tail signal (pure tensor functions).

Every tail signal (docs/method.md) gives each sample an estimated log relative frequency
``l`` (natural log; 0 = as frequent as the average class, negative = rarer, NaN = no estimate).
Temperatures use an absolute scale, so a nearly balanced signal gives nearly uniform temperatures:

    z = l / log(ref_imbalance),   r = rank of the typicality in [0, 1] (1 = most typical)
    tau = clip(tau_0 + (tau_max - tau_min) * ((1 - beta) * z + beta * (r - 1/2)), tau_min, tau_max)

(``rare_temperature="high"`` flips the sign of the bracket: rare samples get the larger
temperature; an ablation of the direction.)

Weights: ``power``: ``exp(-gamma * l)`` (= (mean size / own size)^gamma for cluster sizes);
``effective``: ``(1 - b) / (1 - b^n)`` with ``n = mean_size * exp(l)``; ``none``: 1. Samples without
an estimate get ``tau_0`` and weight 1. The weights are normalised to mean 1, clipped to
``[w_min, w_max]`` and normalised to mean 1 again, so clipping acts on the relative weights.
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


def sample_cluster_sizes(assignments: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Size of each sample's cluster [N] (int64; 0 where ``assignments`` is -1 = unlabelled)."""
    out = torch.zeros_like(assignments)
    labelled = assignments >= 0
    out[labelled] = sizes[assignments[labelled]]
    return out


def log_freq_from_sizes(cluster_size: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """``log(n_c / mean_k n_k)`` [N] fp32 from each sample's cluster size [N] (0 -> NaN); the
    mean runs over the non-empty clusters of ``sizes`` [K]."""
    out = torch.full(
        cluster_size.shape, float("nan"), dtype=torch.float32, device=cluster_size.device
    )
    valid = cluster_size > 0
    if valid.any():
        mean_size = sizes[sizes > 0].double().mean()
        out[valid] = torch.log(cluster_size[valid].double() / mean_size).float()
    return out


def log_freq_from_scores(score: torch.Tensor, valid: torch.Tensor, scale: float) -> torch.Tensor:
    """Standardised ``score`` [N] (higher = more frequent) times ``scale`` log-units, clipped to
    +-3 standard deviations; NaN where not ``valid``. For signals that are not counts."""
    out = torch.full(score.shape, float("nan"), dtype=torch.float32, device=score.device)
    if int(valid.sum()) >= 2:
        s = score[valid].double()
        std = s.std()
        z = (s - s.mean()) / std if std > 0 else torch.zeros_like(s)
        out[valid] = (scale * z.clamp(-3.0, 3.0)).float()
    return out


def profile_log_freq(n: int, num_classes: int, ratio: float) -> torch.Tensor:
    """Log relative frequency [n] fp64, in descending order, of ``n`` samples spread over
    ``num_classes`` classes with the exponential profile ``share_c ~ ratio^(-c / (C - 1))``: the
    sample at rank ``i`` (0 = most frequent) gets ``log(n_c / mean n)`` of the class that holds
    that rank."""
    c = torch.arange(num_classes, dtype=torch.float64)
    share = ratio ** (-c / max(num_classes - 1, 1))
    share = share / share.sum()
    edges = torch.cumsum(share * n, 0)
    rank_class = torch.searchsorted(edges, torch.arange(n, dtype=torch.float64) + 0.5)
    return torch.log(share * num_classes)[rank_class.clamp(max=num_classes - 1)]


def log_freq_from_ranks(
    score: torch.Tensor, valid: torch.Tensor, ratio: float, num_classes: int
) -> torch.Tensor:
    """``score`` [N] (higher = more frequent) mapped by rank onto :func:`profile_log_freq` over
    the ``valid`` samples (NaN elsewhere): the ranking is the score's, the range the profile's
    (ties by position)."""
    out = torch.full(score.shape, float("nan"), dtype=torch.float32, device=score.device)
    m = int(valid.sum())
    if m >= 2:
        order = torch.argsort(score[valid], descending=True, stable=True)
        mapped = torch.empty(m, dtype=torch.float64, device=score.device)
        mapped[order] = profile_log_freq(m, num_classes, ratio).to(score.device)
        out[valid] = mapped.float()
    return out


def temperature_table(
    log_freq: torch.Tensor,
    typicality: torch.Tensor | None,
    *,
    tau_0: float,
    tau_min: float,
    tau_max: float,
    beta: float,
    ref_imbalance: float,
    rare_temperature: str = "low",
) -> torch.Tensor:
    """Temperature [N] fp32 from the log relative frequency [N] and an optional typicality [N]
    (e.g. cosine similarity to the own centroid; ``None``: frequency only); rare samples get the
    ``low`` (TASE's rule) or the ``high`` end of ``[tau_min, tau_max]``."""
    tau = torch.full(log_freq.shape, float(tau_0), dtype=torch.float32, device=log_freq.device)
    valid = torch.isfinite(log_freq)
    if not valid.any():
        return tau
    h = log_freq[valid].double() / math.log(ref_imbalance)
    if typicality is not None and beta > 0:
        h = (1.0 - beta) * h + beta * (rank01(typicality[valid].float()).double() - 0.5)
    if rare_temperature == "high":
        h = -h
    elif rare_temperature != "low":
        raise ValueError(f"rare_temperature must be 'low' or 'high', got {rare_temperature!r}")
    tau[valid] = (tau_0 + (tau_max - tau_min) * h).clamp(tau_min, tau_max).float()
    return tau


def weight_table(
    log_freq: torch.Tensor,
    *,
    scheme: str,
    gamma: float = 0.5,
    effective_beta: float = 0.999,
    mean_size: float = 1.0,
    w_min: float = 0.1,
    w_max: float = 10.0,
) -> torch.Tensor:
    """Loss weight [N] fp32 (mean 1) from the log relative frequency [N]; ``mean_size`` is the
    average class (cluster) size in samples, used by ``effective``."""
    valid = torch.isfinite(log_freq)
    w = torch.ones(log_freq.shape, dtype=torch.float64, device=log_freq.device)
    if valid.any() and scheme != "none":
        lf = log_freq[valid].double()
        if scheme == "power":
            w[valid] = torch.exp(-gamma * lf)
        elif scheme == "effective":
            n = mean_size * torch.exp(lf)
            w[valid] = (1.0 - effective_beta) / (1.0 - effective_beta**n)
        else:
            raise ValueError(f"weighting must be 'power', 'effective' or 'none', got {scheme!r}")
    w = (w / w.mean()).clamp(w_min, w_max)
    return (w / w.mean()).float()


def cosine_factor(t: float, period: float) -> float:
    """``(1 + cos(pi t / period)) / 2``: 1 at t=0, 0 at t=period, 1 again at t=2*period."""
    return 0.5 * (1.0 + math.cos(math.pi * t / period))


def scheduled_temperature(
    tau: torch.Tensor, tau_min: float, t: float, period: float
) -> torch.Tensor:
    """Dynamic temperature ``tau_min + (tau - tau_min) * cosine_factor(t, period)``."""
    return tau_min + (tau - tau_min) * cosine_factor(t, period)
