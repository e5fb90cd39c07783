"""The plugin's SimCLR (``method: simclr_plus``): solo-learn's SimCLR, plus the blocks every
plugin method can add (``method_kwargs.gh``: Geometric Harmonization).

Two dense views, the projector block (solo-learn's Linear-ReLU-Linear by default) and
``nt_xent_loss`` at one temperature, which is solo-learn's ``simclr_loss_func``: with the blocks
off a run equals solo-learn's ``simclr`` bit for bit (an integration test trains both side by
side). It exists so that "SimCLR + GH" is a configuration, not a copy of SimCLR.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from solo_tase.losses.nt_xent import nt_xent_loss
from solo_tase.methods.config import SimclrConfig
from solo_tase.methods.projected import ProjectedMethod


class SimCLRPlus(ProjectedMethod):
    """SimCLR with the plugin's blocks."""

    config_class = SimclrConfig
    settings: SimclrConfig

    def training_step(self, batch: Sequence[Any], batch_idx: int) -> torch.Tensor:
        out = super().training_step(batch, batch_idx)
        z1, z2 = out["z"]
        nce_loss = nt_xent_loss(torch.cat([z1, z2]), self.settings.temperature)
        self.log("train_nce_loss", nce_loss, on_epoch=True, sync_dist=True)
        return self.add_blocks(nce_loss, z1, z2, batch[0]) + out["loss"]
