"""TASE's per-sample state: memory bank, momentum losses, tail estimate and the tau/w tables.

Pure torch (no Lightning, no solo-learn); ``methods/tase.py`` drives it. Under DDP every rank
writes the gathered batch into its bank, rank 0 estimates the tail signal and builds the tables,
and broadcasts them, so all ranks hold identical tables (verified by a checksum). The whole state
goes into the checkpoint (``checkpoint["solo_tase"]``) and is restored on resume.
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F

from solo_tase.methods.config import TaseConfig
from solo_tase.tail.diagnostics import tail_diagnostics
from solo_tase.tail.kmeans.backend import KMeansBackend
from solo_tase.tail.memory_bank import MemoryBank
from solo_tase.tail.momentum_loss import EpochMomentumLoss
from solo_tase.tail.signals import (
    ScoreMapping,
    TailEstimate,
    degrade,
    from_clusters,
    from_knn_density,
    from_labels,
    from_scores,
)
from solo_tase.tail.tables import (
    log_freq_from_sizes,
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
from solo_tase.utils.hashing import tensors_checksum

STATE_VERSION = 2  # 2: log_freq and momentum losses; version 1 (k-means only) still loads
TABLES = ("assignments", "similarity", "sizes", "log_freq", "tau", "weights")


class TaseState:
    """Bank [N, D], assignments [N], similarity [N], sizes [K'], log_freq [N], tau [N], w [N]."""

    def __init__(
        self, cfg: TaseConfig, num_samples: int, feat_dim: int, device: torch.device | str = "cpu"
    ) -> None:
        self.cfg = cfg
        dtype = torch.float16 if cfg.bank_dtype == "float16" else torch.float32
        self.bank = MemoryBank(num_samples, feat_dim, dtype=dtype, device=device)
        n = num_samples
        self.assignments = torch.full((n,), -1, dtype=torch.long, device=device)
        self.similarity = torch.zeros(n, dtype=torch.float32, device=device)
        self.sizes = torch.zeros(cfg.fit_clusters, dtype=torch.long, device=device)
        self.log_freq = torch.full((n,), float("nan"), dtype=torch.float32, device=device)
        self.tau = torch.full((n,), cfg.tau_0, dtype=torch.float32, device=device)
        self.weights = torch.ones(n, dtype=torch.float32, device=device)
        self.momentum = (
            EpochMomentumLoss(n, cfg.memorisation_beta, device=device)
            if cfg.tail_signal == "memorisation"
            else None
        )
        self.last_cluster_epoch = -1

    @property
    def score_mapping(self) -> ScoreMapping:
        """How knn_density / memorisation scores become log frequencies (the settings')."""
        cfg = self.cfg
        assert cfg.num_clusters is not None
        return ScoreMapping(cfg.score_scale, cfg.score_profile_ratio, cfg.num_clusters)

    @property
    def num_samples(self) -> int:
        return self.bank.num_samples

    @torch.no_grad()
    def observe(
        self,
        indexes: torch.Tensor,
        feats: list[torch.Tensor] | torch.Tensor,
        targets: torch.Tensor | None,
        epoch: int,
    ) -> None:
        """Write this step's bank features under ``indexes`` [B], gathered from all ranks:
        ``feats`` are the backbone features of the crops (a list of [B, D]) or of crop 1."""
        crops = [feats] if isinstance(feats, torch.Tensor) else list(feats)
        if self.cfg.bank_feature == "mean" and len(crops) > 1:
            x = torch.stack([F.normalize(c.detach().float(), dim=1) for c in crops]).mean(0)
        else:
            x = crops[0].detach().float()
        if targets is None:
            targets = torch.full_like(indexes, -1)
        self.bank.write(
            gather_no_grad(indexes.long()), gather_no_grad(x), gather_no_grad(targets.long()), epoch
        )

    @torch.no_grad()
    def observe_losses(self, indexes: torch.Tensor, losses: torch.Tensor, epoch: int) -> None:
        """Per-sample contrastive losses [B] of this step of ``epoch`` (memorisation only)."""
        if self.momentum is not None:
            self.momentum.observe(indexes, losses, epoch)

    def end_epoch(self, epoch: int) -> None:
        """Fold the losses of ``epoch`` (and earlier) into the momentum losses (memorisation
        only)."""
        if self.momentum is not None:
            self.momentum.fold_before(epoch + 1)

    def lookup(self, indexes: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Temperature [B] and weight [B] of ``indexes`` [B] at training time ``t`` (epochs)."""
        tau = self.tau[indexes]
        if self.cfg.tau_schedule == "cosine" and self.last_cluster_epoch >= 0:
            assert self.cfg.tau_schedule_period is not None
            tau = scheduled_temperature(tau, self.cfg.tau_min, t, self.cfg.tau_schedule_period)
        return tau, self.weights[indexes]

    def estimate(self, backend: KMeansBackend, seed: int) -> TailEstimate:
        """The configured tail signal on the current bank (rank-local)."""
        cfg = self.cfg
        if cfg.tail_signal in ("kmeans", "overcluster"):
            merge = (
                cfg.num_clusters
                if cfg.tail_signal == "overcluster" and cfg.overcluster_sizes == "merged"
                else None
            )
            return from_clusters(
                self.bank,
                cfg.fit_clusters,
                backend,
                n_iter=cfg.kmeans_iters,
                seed=seed,
                merge_to=merge,
            )
        if cfg.tail_signal == "knn_density":
            assert cfg.num_clusters is not None
            k = cfg.knn_k or max(1, round(3 * self.num_samples / cfg.num_clusters))
            return from_knn_density(self.bank, k, self.score_mapping, cfg.knn_space)
        if cfg.tail_signal == "oracle":
            est = from_labels(self.bank.targets, self.bank.epoch_seen >= 0)
            if cfg.oracle_noise > 0 or cfg.oracle_imbalance is not None:
                est = degrade(
                    est,
                    noise=cfg.oracle_noise,
                    imbalance=cfg.oracle_imbalance,
                    seed=cfg.oracle_seed,
                )
            return est
        assert self.momentum is not None
        return from_scores(-self.momentum.values, self.momentum.seen, self.score_mapping)

    @torch.no_grad()
    def recluster(self, backend: KMeansBackend, epoch: int, seed: int) -> dict[str, Any]:
        """Estimate the tail on rank 0, rebuild the tables, share them with every rank.

        Returns the statistics (signal, tables, diagnostics against labels), identical on every
        rank.
        """
        payload: list[Any] = [None]
        if rank() == 0:
            try:
                start = time.perf_counter()
                est = self.estimate(backend, seed)
                self.assignments = est.assignments
                self.similarity = (
                    est.typicality
                    if est.typicality is not None
                    else torch.zeros_like(self.similarity)
                )
                self.sizes, self.log_freq = est.sizes, est.log_freq
                self._rebuild_tables(est.typicality)
                stats = dict(est.stats)
                stats["tail_signal"] = self.cfg.tail_signal
                stats["estimate_seconds"] = time.perf_counter() - start
                stats.update(
                    tail_diagnostics(self.log_freq, self.bank.targets, self.tau, self.weights)
                )
                payload[0] = stats
            except Exception as err:  # every rank must learn of the failure, not hang
                payload[0] = err
        if is_distributed():
            dist.broadcast_object_list(payload, src=0)
        if isinstance(payload[0], Exception):
            raise payload[0]
        for name in TABLES:
            broadcast_(getattr(self, name), src=0)
        self.last_cluster_epoch = epoch
        stats = dict(payload[0])
        stats.update(self.table_summary(float(epoch)))
        stats["tables_checksum"] = self.checksum()
        stats["tables_checksum_by_rank"] = same_on_all_ranks(
            stats["tables_checksum"], "TASE tables"
        )
        return stats

    def _rebuild_tables(self, typicality: torch.Tensor | None) -> None:
        cfg = self.cfg
        if cfg.adaptive_temperature:
            self.tau = temperature_table(
                self.log_freq,
                typicality,
                tau_0=cfg.tau_0,
                tau_min=cfg.tau_min,
                tau_max=cfg.tau_max,
                beta=cfg.beta,
                ref_imbalance=cfg.ref_imbalance,
                rare_temperature=cfg.rare_temperature,
            )
        assert cfg.num_clusters is not None
        self.weights = weight_table(
            self.log_freq,
            scheme=cfg.weighting,
            gamma=cfg.gamma,
            effective_beta=cfg.effective_beta,
            mean_size=self.num_samples / cfg.num_clusters,
            w_min=cfg.w_min,
            w_max=cfg.w_max,
        )

    def table_summary(self, t: float) -> dict[str, float]:
        """tau mean/min/max (scheduled at time ``t``, epochs), weight min/max over all samples."""
        tau, w = self.lookup(torch.arange(self.num_samples, device=self.tau.device), t)
        return {
            "tau_mean": float(tau.mean()),
            "tau_min": float(tau.min()),
            "tau_max": float(tau.max()),
            "w_max": float(w.max()),
            "w_min": float(w.min()),
        }

    def checksum(self) -> str:
        """SHA-256 (hex, 16 chars) over tau, w and the assignments, to compare ranks and runs."""
        return tensors_checksum((self.tau, self.weights, self.assignments))

    def state_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": STATE_VERSION,
            "num_samples": self.num_samples,
            "num_clusters": self.sizes.numel(),
            "tail_signal": self.cfg.tail_signal,
            "bank": self.bank.state_dict(),
            "last_cluster_epoch": self.last_cluster_epoch,
        }
        out.update({name: getattr(self, name).cpu() for name in TABLES})
        if self.momentum is not None:  # folded at the next epoch's start (on_train_epoch_start)
            out["momentum"] = self.momentum.state_dict(steps_per_epoch=float("inf"))
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        version = state.get("version")
        if version not in (1, STATE_VERSION):
            raise ValueError(
                f"unsupported solo_tase state version {version!r}; this plugin "
                f"reads versions 1 and {STATE_VERSION}"
            )
        signal = state.get("tail_signal", "kmeans")
        if signal != self.cfg.tail_signal:
            raise ValueError(
                f"checkpoint was trained with method_kwargs.tail_signal={signal!r} "
                f"but this run sets {self.cfg.tail_signal!r}: resume with the same "
                "tail signal"
            )
        if state["num_samples"] != self.num_samples or state["num_clusters"] != self.sizes.numel():
            raise ValueError(
                f"checkpoint holds TASE tables for N={state['num_samples']} samples and "
                f"K={state['num_clusters']} clusters, but this run has N={self.num_samples} and "
                f"K={self.sizes.numel()}: resume with the same data and method_kwargs.num_clusters"
                " (and overcluster_factor)"
            )
        self.bank.load_state_dict(state["bank"])
        device = self.tau.device
        for name in TABLES:
            if name in state:
                setattr(self, name, state[name].to(device))
        if version == 1:  # k-means only: the estimate follows from the cluster sizes
            self.log_freq = log_freq_from_sizes(
                sample_cluster_sizes(self.assignments, self.sizes), self.sizes
            )
        if self.momentum is not None:
            self.momentum.load_state_dict(state["momentum"])
        self.last_cluster_epoch = int(state["last_cluster_epoch"])

    def to(self, device: torch.device | str) -> TaseState:
        self.bank.to(device)
        for name in TABLES:
            setattr(self, name, getattr(self, name).to(device))
        if self.momentum is not None:
            self.momentum.to(device)
        return self
