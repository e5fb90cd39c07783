"""The contrastive loss every method of the plugin shares: NT-Xent with a temperature, a weight
and a scale per anchor (TASE's tables; one temperature and unit weights for SimCLR, TS, SDCLR, BCL).

For every anchor row ``a`` of the local batch (both views), with ``p`` the other view of the same
sample and the negatives gathered from every rank (as solo-learn's SimCLR does)::

    l_a = -log( exp(z_a.z_p / tau_a) / sum_{b != a} exp(z_a.z_b / tau_a) )
    L   = sum_a w_a s_a l_a / sum_a w_a

``s_a`` is an optional scale of the anchor's loss outside the weight normalisation (1 by default;
``tau_a / tau_0`` compensates the temperature's ``1 / tau_a`` gradient scale, as supervised
contrastive losses do with a base temperature). The sums run over all anchors of all ranks:
each rank divides its local weighted sum by the global weight sum / world size, so DDP's gradient
averaging yields exactly the global ``L``. With all ``tau_a`` equal, all ``w_a = 1`` and no scale
this is solo-learn's ``simclr_loss_func``, bit for bit. Logits are computed in fp32 (also under
fp16/bf16 autocast).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from solo_tase.utils.distributed import all_reduce_sum, gather_with_grad, rank, world_size


def nt_xent_per_anchor(z: torch.Tensor, tau: torch.Tensor | float) -> torch.Tensor:
    """NT-Xent loss of every local anchor row, negatives gathered from every rank.

    Computed in fp32 in the order of solo-learn's ``simclr_loss_func`` (exponentiated similarities,
    positive and negative row sums), so that one temperature and unit weights reproduce solo-learn's
    SimCLR bit for bit, not merely to rounding: training amplifies last-bit differences within a
    few steps. fp32 ``exp`` of ``1 / tau`` is safe for ``tau >= 0.02``.

    Args:
        z: [2B, D] projector outputs of the two views, stacked view-major (row ``i`` and row
            ``B + i`` are the two views of sample ``i``). Normalised here (L2, in fp32).
        tau: temperature per anchor row, [2B] (> 0), or one float for all rows.

    Returns:
        [2B] fp32 losses ``l_a = -log(exp(z_a.z_p / tau_a) / sum_{b != a} exp(z_a.z_b / tau_a))``,
        with gradients through this rank's rows and (under DDP) the other ranks' rows.
    """
    if z.dim() != 2 or z.size(0) % 2 != 0:
        raise ValueError(f"z must be [2B, D] (two views stacked), got {tuple(z.shape)}")
    n_local = z.size(0)
    batch = n_local // 2
    tau_t = _per_row(tau, n_local, z.device, "tau")  # validates the shape
    divisor: torch.Tensor | float = float(tau) if isinstance(tau, (int, float)) else tau_t[:, None]
    rows = torch.arange(n_local, device=z.device)
    with torch.autocast(device_type=z.device.type, enabled=False):  # logits stay fp32
        z = F.normalize(z.float(), dim=-1)
        all_z = gather_with_grad(z)  # [world*2B, D]
        sim = torch.exp(torch.einsum("if, jf -> ij", z, all_z) / divisor)  # [2B, world*2B]
        cols = torch.arange(all_z.size(0), device=z.device)[None, :]
        own = rank() * n_local + rows[:, None]
        pos_mask = cols == rank() * n_local + ((rows + batch) % n_local)[:, None]
        neg_mask = (cols != own) & ~pos_mask
        pos = torch.sum(sim * pos_mask, 1)
        neg = torch.sum(sim * neg_mask, 1)
        return -torch.log(pos / (pos + neg))


def nt_xent_loss(
    z: torch.Tensor,
    tau: torch.Tensor | float,
    weights: torch.Tensor | None = None,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-anchor-temperature, per-anchor-weighted NT-Xent loss.

    Args:
        z: [2B, D] projector outputs of the two views, stacked view-major (row ``i`` and row
            ``B + i`` are the two views of sample ``i``). Normalised here (L2, in fp32).
        tau: temperature per anchor row, [2B] (> 0), or one float for all rows.
        weights: loss weight per anchor row, [2B] (>= 0); ``None`` means all ones.
        scale: loss scale per anchor row, [2B] (> 0), not normalised; ``None`` means all ones.

    Returns:
        Scalar loss (fp32). Under DDP the value is this rank's share of the global weighted mean.
    """
    per_anchor = nt_xent_per_anchor(z, tau)  # validates z and tau
    if scale is not None:
        per_anchor = per_anchor * _per_row(scale, z.size(0), z.device, "scale")
    w_t = _per_row(1.0 if weights is None else weights, z.size(0), z.device, "weights")
    global_weight = all_reduce_sum(w_t.sum().detach())
    norm = global_weight / world_size()
    return (w_t * per_anchor).sum() / norm.clamp_min(torch.finfo(norm.dtype).tiny)


def _per_row(value: torch.Tensor | float, n: int, device: torch.device, name: str) -> torch.Tensor:
    """Broadcast a float or [n] tensor to an fp32 [n] tensor without grad."""
    t = torch.as_tensor(value, dtype=torch.float32, device=device).detach()
    if t.dim() == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"{name} must be a float or a tensor of shape [{n}], got {tuple(t.shape)}")
    return t
