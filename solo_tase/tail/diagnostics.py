"""How well a tail signal sees the imbalance, measured against the true labels when there are.

At every re-clustering: Spearman's rho between each sample's estimated frequency and the size of
its true class, the imbalance the signal recovers (ratio of the geometric-mean estimated frequency
of the most and least frequent true class) against the true one, and the mean temperature and
weight of each true Many / Medium / Few group (CIFAR-style thirds of the classes by count).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from solo_tase.data.profiles import GROUPS, assign_groups

NOT_COMPUTED = "not computed: the training data has no labels (targets < 0)"


def tail_diagnostics(
    log_freq: torch.Tensor, targets: torch.Tensor, tau: torch.Tensor, weights: torch.Tensor
) -> dict[str, Any]:
    """Diagnostics of ``log_freq`` [N] against ``targets`` [N] (-1 = unknown), with the tables
    ``tau`` [N] and ``weights`` [N]. Without labels: ``{"diagnostics": NOT_COMPUTED}``."""
    from scipy.stats import spearmanr

    targets = targets.long().cpu()
    valid = torch.isfinite(log_freq.cpu()) & (targets >= 0)
    if not bool((targets >= 0).any()) or int(valid.sum()) < 3:
        return {"diagnostics": NOT_COMPUTED}
    counts = torch.bincount(targets[targets >= 0])
    present = torch.nonzero(counts > 0).flatten()
    lf = log_freq.cpu().double()
    true_count = counts[targets[valid]].double()
    rho = spearmanr(lf[valid].numpy(), true_count.numpy()).statistic
    per_class = {
        int(c): float(lf[valid & (targets == c)].mean())
        for c in present.tolist()
        if bool((valid & (targets == c)).any())
    }
    head = max(per_class, key=lambda c: (int(counts[c]), -c))
    tail = min(per_class, key=lambda c: (int(counts[c]), -c))
    out: dict[str, Any] = {
        "rho": float(rho) if math.isfinite(rho) else 0.0,
        "true_imbalance": float(counts[present].max() / counts[present].min()),
        "recovered_imbalance": math.exp(per_class[head] - per_class[tail]),
    }
    groups = assign_groups(counts[present].tolist(), "thirds")
    group_of = dict(zip(present.tolist(), groups))
    labelled = targets >= 0
    sample_group = [group_of.get(int(t)) for t in targets[labelled].tolist()]
    tau_l, w_l = tau.cpu()[labelled], weights.cpu()[labelled]
    for g in GROUPS:
        mask = torch.tensor([x == g for x in sample_group], dtype=torch.bool)
        if mask.any():
            out[f"tau_{g}"] = float(tau_l[mask].mean())
            out[f"w_{g}"] = float(w_l[mask].mean())
    return out
