"""BCL-I (Boosted Contrastive Learning, Zhou et al., ICML 2022) as a solo-learn method.

solo-learn's SimCLR (two dense views, Linear-ReLU-Linear projector, or Linear-BN-ReLU-Linear with
``proj_batch_norm: true``) plus BCL's memorisation boost (``solo_tase.methods.boosted``): every
sample's per-anchor NT-Xent losses feed its momentum loss, which sets the strength of the
RandAugment applied to its views in the next epoch. The loss is the mean per-anchor NT-Xent, i.e.
solo-learn's ``simclr_loss_func`` at the same temperature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import omegaconf
import torch

from solo_tase.methods.boosted import BoostedMemorisation
from solo_tase.methods.config import BclConfig, BoostSettings
from solo_tase.methods.projected import ProjectedMethod


class BCL(ProjectedMethod):
    """SimCLR whose late-memorised samples get stronger augmentations (BCL-I)."""

    config_class = BclConfig
    settings: BclConfig

    def __init__(self, cfg: omegaconf.DictConfig) -> None:
        super().__init__(cfg)
        self.memorisation = BoostedMemorisation(BoostSettings.of(self.settings), "bcl")

    def on_fit_start(self) -> None:
        self.memorisation.start(self)

    def training_step(self, batch: Sequence[Any], batch_idx: int) -> torch.Tensor:
        out = super().training_step(batch, batch_idx)
        nce_loss = self.memorisation.loss(
            torch.cat(out["z"]), self.settings.temperature, batch[0], self.current_epoch
        )
        self.log("train_nce_loss", nce_loss, on_epoch=True, sync_dist=True)
        return self.add_blocks(nce_loss, out["z"][0], out["z"][1], batch[0]) + out["loss"]

    def on_train_epoch_end(self) -> None:
        self.memorisation.end_epoch(self)

    def checkpoint_parts(self) -> dict[str, Any]:
        return {"bcl": self.memorisation.state_dict(self)}

    def required_parts(self) -> tuple[str, ...]:
        return ("bcl",)

    def load_checkpoint_parts(self, parts: dict[str, Any]) -> None:
        self.memorisation.load_state_dict(parts["bcl"])
