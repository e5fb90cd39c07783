"""TASE's per-sample state with small settings, for the state and tail-signal tests."""

from __future__ import annotations

from typing import Any

from solo_tase.methods.config import TaseConfig
from solo_tase.methods.tase_state import TaseState


def tase_state(n: int = 60, k: int = 3, **settings: Any) -> TaseState:
    """The state of ``n`` samples with 8-dim features and ``k`` clusters (k-means signal, one
    warm-up epoch of 10); ``settings`` are further method_kwargs."""
    cfg = TaseConfig.from_kwargs(
        {"num_clusters": k, "warmup_epochs": 1, "tail_signal": "kmeans", **settings}, max_epochs=10
    )
    return TaseState(cfg, n, feat_dim=8)
