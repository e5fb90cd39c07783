"""Temperature Schedules (TS, Kukleva et al., ICLR 2023) as a solo-learn method.

solo-learn's SimCLR (same two dense views) with one scheduled temperature for all samples
(``TsConfig.temperature``)::

    tau(t) = tau_min + (tau_max - tau_min) * (1 + cos(pi t / period)) / 2

with ``t`` in epochs (``epoch + first_epoch``), fractional per step with ``per_step: true``. The
projector is solo-learn SimCLR's Linear-ReLU-Linear, or Linear-BN-ReLU-Linear with
``proj_batch_norm: true``. The loss is ``nt_xent_loss`` with that scalar, which equals
solo-learn's ``simclr_loss_func`` at the same temperature; with the default projector TS therefore
differs from SimCLR only by the schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from solo_tase.losses.nt_xent import nt_xent_loss
from solo_tase.methods.config import TsConfig
from solo_tase.methods.loop import training_time
from solo_tase.methods.projected import ProjectedMethod
from solo_tase.methods.run_log import STATS_FILE, append_stats


class TS(ProjectedMethod):
    """SimCLR with a cosine temperature schedule."""

    config_class = TsConfig
    settings: TsConfig

    def training_time(self, batch_idx: int) -> float:
        """Epochs done: the epoch, plus the fraction of it done with ``per_step``."""
        if self.settings.per_step:
            return training_time(self.trainer, self.current_epoch, batch_idx)
        return float(self.current_epoch)

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        epoch = self.current_epoch
        tau = self.settings.epoch_temperature(float(epoch))
        self.log("ts/tau", tau, on_step=False, on_epoch=True, sync_dist=True)
        append_stats(self.trainer, STATS_FILE, {"epoch": epoch, "tau": tau})

    def training_step(self, batch: Sequence[Any], batch_idx: int) -> torch.Tensor:
        out = super().training_step(batch, batch_idx)
        tau = self.settings.epoch_temperature(self.training_time(batch_idx))
        nce_loss = nt_xent_loss(torch.cat(out["z"]), tau)
        self.log("train_nce_loss", nce_loss, on_epoch=True, sync_dist=True)
        if self.settings.per_step:
            self.log("ts/tau_step", tau, on_step=True, on_epoch=False, sync_dist=False)
        return self.add_blocks(nce_loss, out["z"][0], out["z"][1], batch[0]) + out["loss"]
