"""TASE's per-sample state: the memory bank, the pseudo-labels and the tau/w tables.

Pure torch (no Lightning, no solo-learn), so it is unit-testable; ``methods/tase.py`` drives it.
Under DDP every rank writes the gathered batch into its bank, rank 0 clusters and computes the
tables, and broadcasts them, so all ranks hold identical tables (verified by a checksum).
The whole state goes into the checkpoint (``checkpoint["solo_tase"]``) and is restored on resume.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
import torch.distributed as dist

from solo_tase.methods.config import TaseConfig
from solo_tase.pseudo_labels.kmeans import KMeansBackend
from solo_tase.pseudo_labels.labeler import cluster_bank
from solo_tase.pseudo_labels.memory_bank import MemoryBank
from solo_tase.pseudo_labels.tables import (
    sample_cluster_sizes,
    scheduled_temperature,
    temperature_table,
    weight_table,
)
from solo_tase.utils.distributed import (
    broadcast_,
    gather_no_grad,
    is_distributed,
    rank,
    same_on_all_ranks,
)

STATE_VERSION = 1


class TaseState:
    """Bank [N, D], assignments [N], similarity [N], sizes [K], tau [N], w [N] on ``device``."""

    def __init__(self, cfg: TaseConfig, num_samples: int, feat_dim: int,
                 device: torch.device | str = "cpu") -> None:
        assert cfg.num_clusters is not None
        self.cfg = cfg
        dtype = torch.float16 if cfg.bank_dtype == "float16" else torch.float32
        self.bank = MemoryBank(num_samples, feat_dim, dtype=dtype, device=device)
        n, k = num_samples, cfg.num_clusters
        self.assignments = torch.full((n,), -1, dtype=torch.long, device=device)
        self.similarity = torch.zeros(n, dtype=torch.float32, device=device)
        self.sizes = torch.zeros(k, dtype=torch.long, device=device)
        self.tau = torch.full((n,), cfg.tau_0, dtype=torch.float32, device=device)
        self.weights = torch.ones(n, dtype=torch.float32, device=device)
        self.last_cluster_epoch = -1

    @property
    def num_samples(self) -> int:
        return self.bank.num_samples

    @torch.no_grad()
    def observe(self, indexes: torch.Tensor, feats: torch.Tensor, targets: torch.Tensor | None,
                epoch: int) -> None:
        """Write this step's features [B, D] under ``indexes`` [B], gathered from all ranks."""
        if targets is None:
            targets = torch.full_like(indexes, -1)
        self.bank.write(gather_no_grad(indexes.long()), gather_no_grad(feats.detach().float()),
                        gather_no_grad(targets.long()), epoch)

    def lookup(self, indexes: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Temperature [B] and weight [B] of ``indexes`` [B] at training time ``t`` (epochs)."""
        tau = self.tau[indexes]
        if self.cfg.tau_schedule == "cosine" and self.last_cluster_epoch >= 0:
            assert self.cfg.tau_schedule_period is not None
            tau = scheduled_temperature(tau, self.cfg.tau_min, t, self.cfg.tau_schedule_period)
        return tau, self.weights[indexes]

    @torch.no_grad()
    def recluster(self, backend: KMeansBackend, epoch: int, seed: int) -> dict[str, Any]:
        """Cluster the bank on rank 0, rebuild the tables, share them with every rank.

        Returns the statistics (k-means and table summary), identical on every rank.
        """
        assert self.cfg.num_clusters is not None
        payload: list[Any] = [None]
        if rank() == 0:
            try:
                labels = cluster_bank(self.bank, self.cfg.num_clusters, backend,
                                      n_iter=self.cfg.kmeans_iters, seed=seed)
                self.assignments, self.similarity = labels.assignments, labels.similarity
                self.sizes = labels.sizes
                self._rebuild_tables()
                payload[0] = labels.stats
            except Exception as err:  # every rank must learn of the failure, not hang
                payload[0] = err
        if is_distributed():
            dist.broadcast_object_list(payload, src=0)
        if isinstance(payload[0], Exception):
            raise payload[0]
        for t in (self.assignments, self.similarity, self.sizes, self.tau, self.weights):
            broadcast_(t, src=0)
        self.last_cluster_epoch = epoch
        stats = dict(payload[0])
        stats.update(self.table_summary(float(epoch)))
        stats["tables_checksum"] = self.checksum()
        stats["tables_checksum_by_rank"] = same_on_all_ranks(stats["tables_checksum"],
                                                             "TASE tables")
        return stats

    def _rebuild_tables(self) -> None:
        cfg = self.cfg
        n_c = sample_cluster_sizes(self.assignments, self.sizes)
        if cfg.adaptive_temperature:
            self.tau = temperature_table(n_c, self.similarity, tau_min=cfg.tau_min,
                                         tau_max=cfg.tau_max, beta=cfg.beta, tau_0=cfg.tau_0)
        self.weights = weight_table(n_c, self.sizes, scheme=cfg.weighting, gamma=cfg.gamma,
                                    effective_beta=cfg.effective_beta, w_min=cfg.w_min,
                                    w_max=cfg.w_max)

    def table_summary(self, t: float) -> dict[str, float]:
        """tau mean/min/max (scheduled at time ``t``, epochs) and weight min/max over all samples."""
        tau, w = self.lookup(torch.arange(self.num_samples, device=self.tau.device), t)
        return {"tau_mean": float(tau.mean()), "tau_min": float(tau.min()),
                "tau_max": float(tau.max()), "w_max": float(w.max()), "w_min": float(w.min())}

    def checksum(self) -> str:
        """SHA-256 (hex, 16 chars) over tau, w and the assignments, to compare ranks and runs."""
        h = hashlib.sha256()
        for t in (self.tau, self.weights, self.assignments):
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "num_samples": self.num_samples,
            "num_clusters": self.sizes.numel(),
            "bank": self.bank.state_dict(),
            "assignments": self.assignments.cpu(),
            "similarity": self.similarity.cpu(),
            "sizes": self.sizes.cpu(),
            "tau": self.tau.cpu(),
            "weights": self.weights.cpu(),
            "last_cluster_epoch": self.last_cluster_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported solo_tase state version {state.get('version')!r}; "
                             f"this plugin reads version {STATE_VERSION}")
        if state["num_samples"] != self.num_samples or state["num_clusters"] != self.sizes.numel():
            raise ValueError(
                f"checkpoint holds TASE tables for N={state['num_samples']} samples and "
                f"K={state['num_clusters']} clusters, but this run has N={self.num_samples} and "
                f"K={self.sizes.numel()}: resume with the same data and method_kwargs.num_clusters"
            )
        self.bank.load_state_dict(state["bank"])
        device = self.tau.device
        for name in ("assignments", "similarity", "sizes", "tau", "weights"):
            setattr(self, name, state[name].to(device))
        self.last_cluster_epoch = int(state["last_cluster_epoch"])

    def to(self, device: torch.device | str) -> "TaseState":
        self.bank.to(device)
        for name in ("assignments", "similarity", "sizes", "tau", "weights"):
            setattr(self, name, getattr(self, name).to(device))
        return self
