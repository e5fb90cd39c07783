"""Geometric Harmonization's loss (Zhou et al., NeurIPS 2023): Sinkhorn-Knopp assignments to a
fixed geometric structure, with the surrogate-class prior as their column marginal, and the swapped
cross-entropy between the two views.

For the logits ``t = normalize(z @ M^T)`` [B, K] of each view (``M`` [K, D]: the simplex ETF)::

    Q   = exp(t / epsilon)^T                      [K, B]
    r   = pi / (Q c),  c = (1 / B) / (Q^T r)      (iterated, from c = 1 / B)
    q   = B (r * Q * c^T)^T                       [B, K], rows summing to 1, columns to B pi
    L   = -mean_i sum_k q1_ik log_softmax(t2_i / gamma)_k
          -mean_i sum_k q2_ik log_softmax(t1_i / gamma)_k

with ``pi`` the prior (``None``: uniform), exactly the official ``sinkhorn`` and ``GHLoss``
(``utils.py``). ``q`` carries no gradient. Under DDP the sums over the batch (``Q c``) are
all-reduced and ``B`` is the global batch, so every rank computes the assignments of the global
batch as one process would; each rank's loss is the mean over its rows, and DDP's gradient
averaging gives the global mean. Computed in fp32 whatever the autocast (``exp(1 / epsilon)``
overflows fp16).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from solo_tase.utils.distributed import all_reduce_sum


@torch.no_grad()
def sinkhorn(
    logits: torch.Tensor, epsilon: float, iterations: int, prior: torch.Tensor | None = None
) -> torch.Tensor:
    """Soft assignments [B, K] (fp32, rows summing to 1) of ``logits`` [B, K] whose column marginal
    is ``prior`` [K] (normalised here; ``None``: uniform)."""
    if logits.dim() != 2:
        raise ValueError(f"logits must be [B, K], got {tuple(logits.shape)}")
    with torch.autocast(device_type=logits.device.type, enabled=False):
        q = torch.exp(logits.float() / epsilon).t()  # [K, B]
        k = q.size(0)
        n = all_reduce_sum(torch.tensor(float(q.size(1)), device=q.device))
        if prior is None:
            inv_k: torch.Tensor | float = 1.0 / k
        else:
            if prior.shape != (k,):
                raise ValueError(f"prior must be [{k}], got {tuple(prior.shape)}")
            p = prior.detach().float().reshape(k, 1).to(q.device)
            inv_k = p / p.sum()
        inv_n = 1.0 / n
        c = torch.ones(q.size(1), 1, device=q.device) / n
        r = torch.ones(k, 1, device=q.device) / k
        for _ in range(iterations):
            r = inv_k / all_reduce_sum(q @ c)
            c = inv_n / (q.t() @ r)
        return (r * q * c.t()).t() * n


def gh_loss_func(
    t1: torch.Tensor,
    t2: torch.Tensor,
    prior: torch.Tensor | None,
    *,
    epsilon: float = 0.05,
    iterations: int = 300,
    temperature: float = 0.1,
) -> torch.Tensor:
    """The swapped cross-entropy of the two views' logits ``t1``, ``t2`` [B, K] against each
    other's Sinkhorn assignments (scalar, fp32; gradients through both logits)."""
    if t1.shape != t2.shape:
        raise ValueError(f"t1 {tuple(t1.shape)} and t2 {tuple(t2.shape)} must have one shape")
    q1 = sinkhorn(t1, epsilon, iterations, prior)
    q2 = sinkhorn(t2, epsilon, iterations, prior)
    with torch.autocast(device_type=t1.device.type, enabled=False):
        log_p1 = F.log_softmax(t1.float() / temperature, dim=1)
        log_p2 = F.log_softmax(t2.float() / temperature, dim=1)
        return -(q1 * log_p2).sum(1).mean() - (q2 * log_p1).sum(1).mean()


def target_logits(z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``normalize(z @ M^T)`` [B, K] of projections ``z`` [B, D] against the target ``M`` [K, D]
    (fp32)."""
    with torch.autocast(device_type=z.device.type, enabled=False):
        return F.normalize(z.float() @ target.float().t(), dim=1)
