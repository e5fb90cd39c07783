"""TASE as a solo-learn method: thin glue between solo's BaseMethod and the pure pieces.

The loss lives in ``solo_tase.losses.nt_xent``, the tail signals in ``solo_tase.tail``, the
per-sample state in ``solo_tase.methods.tase_state``. This module wires them into Lightning hooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import omegaconf
import torch

from solo_tase.data.solo_transforms import clean_copy
from solo_tase.data.weighted_sampler import WeightedEpochSampler, install_sampler
from solo_tase.losses.nt_xent import nt_xent_loss, nt_xent_per_anchor
from solo_tase.methods.checks import check_dali_indexes
from solo_tase.methods.clean_pass import clean_pass
from solo_tase.methods.config import ConfigError, TaseConfig
from solo_tase.methods.loop import batch_indexes, resolve_num_samples, training_time
from solo_tase.methods.projected import ProjectedMethod
from solo_tase.methods.run_log import STATS_FILE, append_stats
from solo_tase.methods.tase_state import TaseState
from solo_tase.tail.kmeans.backend import make_backend


def dali_conflicts(tase: TaseConfig) -> None:
    """Refuse, in one error naming every key to change, the options that need a PyTorch loader
    (DALI runs have none): the clean bank re-reads the images, sampling replaces the sampler.

    Raises:
        ConfigError: ``bank_feature`` is ``clean`` or ``weights_as`` is ``sampling``.
    """
    fixes = []
    if tase.bank_feature == "clean":
        fixes.append("method_kwargs.bank_feature=crop1 (or mean) instead of clean")
    if tase.weights_as == "sampling":
        fixes.append("method_kwargs.weights_as=loss instead of sampling")
    if fixes:
        raise ConfigError(
            "DALI runs have no PyTorch loader, which the clean bank (it re-reads the training "
            "images) and weights_as=sampling (it draws the training indexes) need: set "
            + " and ".join(fixes)
        )


class TASE(ProjectedMethod):
    """Temperature Auxiliary Sample-level Encouragement (see docs/method.md)."""

    config_class = TaseConfig

    settings: TaseConfig

    def __init__(self, cfg: omegaconf.DictConfig) -> None:
        super().__init__(cfg)
        self.state: TaseState | None = None
        self.sampler: WeightedEpochSampler | None = None  # weights_as: sampling (with weights)
        self._restored: dict[str, Any] | None = None
        self._last_stats: dict[str, Any] = {}

    @classmethod
    def resolve_config(cls, kwargs: Mapping[str, Any], cfg: omegaconf.DictConfig) -> TaseConfig:
        """K defaults to data.num_classes, the schedule period to max_epochs; DALI must yield
        real indexes."""
        check_dali_indexes(cfg, "tase")
        tase = TaseConfig.from_kwargs(
            kwargs,
            num_classes=omegaconf.OmegaConf.select(cfg, "data.num_classes"),
            max_epochs=omegaconf.OmegaConf.select(cfg, "max_epochs"),
        )
        dali = omegaconf.OmegaConf.select(cfg, "data.format") == "dali"
        if dali:
            dali_conflicts(tase)
        if tase.tail_signal == "oracle" and omegaconf.OmegaConf.select(
            cfg, "data.no_labels", default=False
        ):
            raise ConfigError(
                "method_kwargs.tail_signal=oracle reads every sample's true class, but "
                "data.no_labels is true: the oracle is a measurement device for labelled data; "
                "use knn_density, kmeans, overcluster or memorisation"
            )
        return tase

    # ----------------------------------------------------------------- per-sample state
    def on_train_start(self) -> None:
        n = resolve_num_samples(self.trainer, self.settings.num_samples)
        assert self.settings.num_clusters is not None
        if max(self.settings.num_clusters, self.settings.fit_clusters) > n:
            raise ConfigError(
                f"method_kwargs.num_clusters={self.settings.num_clusters} exceeds the {n} "
                f"training samples (clusters fitted: {self.settings.fit_clusters}; overcluster "
                "multiplies K by overcluster_factor): lower it (allowed: 2..N clusters)"
            )
        if self.settings.bank_feature == "clean":  # fail now, not at the first estimate
            clean_copy(self.trainer.train_dataloader.dataset)
        super().on_train_start()  # the blocks (GH)
        self.state = TaseState(self.settings, n, self.features_dim, device=self.device)
        if self._restored is not None:
            self.state.load_state_dict(self._restored["state"])
            self._restored = None
        if self.settings.weights_as == "sampling" and self.settings.weighting != "none":
            self.sampler = WeightedEpochSampler(
                n,
                seed=int(self.cfg.seed),
                rank=self.trainer.global_rank,
                world_size=self.trainer.world_size,
            )
            install_sampler(self.trainer.train_dataloader, self.sampler)
            self._share_weights()

    def _share_weights(self) -> None:
        """``weights_as: sampling``: the sampler draws by the weight table (none before the first
        estimate: the loader's own shuffle)."""
        assert self.state is not None and self.sampler is not None
        estimated = self.state.last_cluster_epoch >= 0
        self.sampler.set_weights(self.state.weights if estimated else None)

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        assert self.state is not None
        epoch = self.current_epoch
        # the previous epoch's losses are folded here, not at its end: solo-learn's checkpoint is
        # written before the module's epoch-end hook, and a resumed run starts here
        self.state.end_epoch(epoch - 1)
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
        record: dict[str, Any] = {"epoch": epoch, "reclustered": False}
        if self.settings.is_recluster_epoch(epoch) and self.state.last_cluster_epoch != epoch:
            seed = (
                self.settings.kmeans_seed
                if self.settings.kmeans_seed is not None
                else int(self.cfg.seed)
            ) + epoch
            backend = make_backend(self.settings.kmeans_backend)
            clean_seconds = (
                clean_pass(self, self.state, epoch)
                if self.settings.bank_feature == "clean"
                else None
            )
            self._last_stats = self.state.recluster(backend, epoch, seed)
            if self.sampler is not None:
                self._share_weights()
            if clean_seconds is not None:
                self._last_stats["clean_pass_seconds"] = clean_seconds
            record["reclustered"] = True
            self._report(epoch, self._last_stats)
        record.update(self._last_stats)
        record.update(self.state.table_summary(float(epoch)))
        self.log_dict(
            {
                f"tase/{k}": float(v)
                for k, v in record.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            },
            on_step=False,
            on_epoch=True,
            sync_dist=True,
        )
        append_stats(self.trainer, STATS_FILE, record)

    def _report(self, epoch: int, s: dict[str, Any]) -> None:
        if "kmeans_backend" in s:
            signal = (
                f"k-means ({s['kmeans_backend']}) K={self.settings.fit_clusters} in "
                f"{s['kmeans_seconds']:.2f}s, cluster imbalance {s['imbalance']:.1f}, "
                f"empty {s['empty_clusters']}" + (f", NMI {s['nmi']:.3f}" if "nmi" in s else "")
            )
        elif self.settings.tail_signal == "oracle":
            signal = "oracle (true class counts from the labels: an upper bound)"
        else:
            signal = self.settings.tail_signal
        truth = (
            f"rho {s['rho']:+.2f}, imbalance recovered {s['recovered_imbalance']:.1f} of "
            f"{s['true_imbalance']:.1f}; tau Many/Few {s['tau_many']:.3f}/"
            f"{s.get('tau_few', float('nan')):.3f}, w Many/Few {s['w_many']:.2f}/"
            f"{s.get('w_few', float('nan')):.2f}"
            if "rho" in s
            else s.get("diagnostics", "")
        )
        self.print(
            f"[solo-tase] epoch {epoch}: {signal} on {s['clustered']} samples; {truth}; tau "
            f"[{s['tau_min']:.3f}, {s['tau_max']:.3f}] mean {s['tau_mean']:.3f}, max w "
            f"{s['w_max']:.2f}"
            + (f"; {s['never_seen']} never seen" if s.get("never_seen") else "")
            + (
                f"; {s['nonfinite']} non-finite (first {s['nonfinite_first_indexes']})"
                if s.get("nonfinite")
                else ""
            )
        )

    # ----------------------------------------------------------------- training
    def training_step(self, batch: Sequence[Any], batch_idx: int) -> torch.Tensor:
        assert self.state is not None
        indexes = batch_indexes(batch[0])
        out = super().training_step(batch, batch_idx)
        if self.settings.bank_feature != "clean":  # clean: the bank is filled by clean_pass
            self.state.observe(indexes, out["feats"], batch[2], self.current_epoch)

        t = training_time(self.trainer, self.current_epoch, batch_idx)
        tau, w = self.state.lookup(indexes, t)
        z = torch.cat(out["z"])
        weights = w.repeat(2) if self.settings.weights_as == "loss" else None
        scale = (
            tau.repeat(2) / self.settings.tau_0 if self.settings.temperature_compensation else None
        )
        nce_loss = nt_xent_loss(z, tau.repeat(2), weights, scale)
        if self.state.momentum is not None:  # memorisation: own loss at one fixed temperature
            per_anchor = nt_xent_per_anchor(z.detach(), self.settings.tau_0)
            self.state.observe_losses(indexes, per_anchor.view(2, -1).mean(0), self.current_epoch)
        self.log("train_nce_loss", nce_loss, on_epoch=True, sync_dist=True)
        return self.add_blocks(nce_loss, out["z"][0], out["z"][1], indexes) + out["loss"]

    # ----------------------------------------------------------------- checkpoints
    def checkpoint_parts(self) -> dict[str, Any]:
        if self.state is None:
            return {}
        return {"tase": {"state": self.state.state_dict(), "last_stats": self._last_stats}}

    def required_parts(self) -> tuple[str, ...]:
        return ("tase",)

    def load_checkpoint_parts(self, parts: dict[str, Any]) -> None:
        self._restored = parts["tase"]
        self._last_stats = dict(parts["tase"].get("last_stats", {}))
