"""BCL's memorisation boost as a component of a solo-learn method (BCL-I, SDCLR's ``bcl`` option),
and the run-level decision to boost (:func:`install_boosted_augment`, called by the plugin's Hydra
callback before ``main_pretrain`` builds its datasets).

The method calls it from its hooks: :meth:`BoostedMemorisation.start` in ``on_fit_start``,
:meth:`loss` in ``training_step`` (the NT-Xent, whose per-anchor values it records),
:meth:`end_epoch` in ``on_train_epoch_end``, and saves :meth:`state_dict` as the checkpoint part
``bcl``. At each epoch end the momentum losses (``tail/momentum_loss.py``'s
:class:`EpochMomentumLoss`, the lifecycle TASE's memorisation signal shares) are normalised into
the training set's shared :class:`StrengthTable`, which the loader workers read.

An epoch-end checkpoint holds its epoch's losses still pending but complete (solo-learn saves
before the method's epoch-end hook); :meth:`start` folds them when the run resumes. It runs in
``on_fit_start``, before Lightning creates the loader's iterator (whose workers start preparing
batches at once), so the resumed run's first batches already get the restored boost weights and
the momentum losses, weights and views equal the uninterrupted run's.
"""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from solo_tase.data.boosted.dataset import (
    TABLE_ATTRIBUTE,
    boosted_dataset_with_index,
    boosted_training_set,
    use_factory,
)
from solo_tase.data.boosted.strength import StrengthTable
from solo_tase.losses.nt_xent import nt_xent_per_anchor
from solo_tase.methods.config import BclConfig, BoostSettings, ConfigError, SdclrConfig
from solo_tase.methods.loop import batch_indexes
from solo_tase.methods.run_log import STATS_FILE, append_stats
from solo_tase.tail.momentum_loss import EpochMomentumLoss


def boost_settings(config: DictConfig) -> BoostSettings | None:
    """The run's boost settings, or ``None`` when its method does not boost (validated)."""
    method = OmegaConf.select(config, "method")
    node = OmegaConf.select(config, "method_kwargs")
    kwargs = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    if method == "bcl":
        return BoostSettings.of(BclConfig.from_kwargs(kwargs))  # type: ignore[arg-type]
    if method == "sdclr" and OmegaConf.select(config, "method_kwargs.bcl", default=False):
        return BoostSettings.of(SdclrConfig.from_kwargs(kwargs))  # type: ignore[arg-type]
    return None


def install_boosted_augment(config: DictConfig) -> BoostSettings | None:
    """Put the boosting factory in solo-learn's data path when the method boosts, solo-learn's
    own factory otherwise; returns the settings (``None``: not boosted).

    Raises:
        ConfigError: bad ``method_kwargs``, or ``data.format: dali``.
    """
    settings = boost_settings(config)
    if settings is None:
        use_factory(None)
        return None
    if OmegaConf.select(config, "data.format") == "dali":
        raise ConfigError(
            f"method '{config.method}' with BCL boosts augmentations per sample inside "
            "solo-learn's PyTorch loader workers, which DALI (data.format: dali) bypasses: set "
            "data.format: image_folder (or h5)"
        )
    use_factory(boosted_dataset_with_index(settings.rand_k, settings.rand_strength))
    return settings


class BoostedMemorisation:
    """Momentum losses of the training samples and the boost weights they drive."""

    def __init__(self, settings: BoostSettings, method: str) -> None:
        self.settings = settings
        self.method = method
        self.losses: EpochMomentumLoss | None = None
        self.table: StrengthTable | None = None
        self._restored: dict[str, Any] | None = None

    @property
    def momentum(self) -> EpochMomentumLoss:
        assert self.losses is not None, "start() runs in on_fit_start"
        return self.losses

    def start(self, module: Any) -> None:
        """Build (or restore) the momentum losses of ``module``'s training set and write the boost
        weights to its table."""
        dataset = boosted_training_set(module.trainer, self.method)
        self.table = getattr(dataset, TABLE_ATTRIBUTE)
        self.losses = EpochMomentumLoss(
            len(dataset), self.settings.momentum_loss_beta, device=module.device
        )
        if self._restored is not None:
            self.losses.load_state_dict(self._restored)
            self._restored = None
        self.table.update(self.losses.normalised())

    def loss(self, z: torch.Tensor, tau: float, indexes: torch.Tensor, epoch: int) -> torch.Tensor:
        """The NT-Xent of a step (mean over anchors), recording each sample's loss: the mean of
        its two anchors' (the official ``loss.view(2, B).mean(0)``).

        Args:
            z: [2B, D] projections, view-major (rows ``i`` and ``B + i`` are sample ``i``).
            tau: the temperature.
            indexes: [B] dataset indexes of the local batch (DALI's [B, 1] is accepted).
            epoch: the current (0-based) epoch.
        """
        per_anchor = nt_xent_per_anchor(z, tau)  # [2B]
        indexes = batch_indexes(indexes)
        b = indexes.numel()
        self.momentum.observe(indexes, (per_anchor[:b] + per_anchor[b:]).detach() / 2, epoch)
        return per_anchor.mean()

    def end_epoch(self, module: Any) -> dict[str, float]:
        """Update the momentum losses with the epoch's, rewrite the boost weights; log and record
        (``solo_tase_stats.jsonl``) the momentum losses and weights of the samples seen so far."""
        assert self.table is not None
        epoch = int(module.current_epoch)
        self.momentum.fold_before(epoch + 1)
        weights = self.momentum.normalised()
        self.table.update(weights)
        seen = self.momentum.seen
        m, w = self.momentum.values[seen], weights[seen]
        stats = {
            "bcl_seen": float(seen.sum()),
            "bcl_momentum_loss_mean": float(m.mean()) if m.numel() else 0.0,
            "bcl_weight_mean": float(w.mean()) if w.numel() else 0.0,
            "bcl_weight_max": float(w.max()) if w.numel() else 0.0,
        }
        module.log_dict(
            {f"bcl/{k[4:]}": v for k, v in stats.items()},
            on_step=False,
            on_epoch=True,
            sync_dist=False,
        )  # identical on every rank
        append_stats(module.trainer, STATS_FILE, {"epoch": epoch, **stats})
        return stats

    def state_dict(self, module: Any) -> dict[str, Any]:
        """The momentum losses, the pending epoch and whether all its steps were taken."""
        return self.momentum.state_dict(module.trainer.num_training_batches)

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Keep the saved state for :meth:`start` (the training-set size is known only then), or
        apply it at once when the run has started (strategies that restore after setup)."""
        if self.losses is None or self.table is None:
            self._restored = saved
            return
        self.losses.load_state_dict(saved)
        self.table.update(self.losses.normalised())
