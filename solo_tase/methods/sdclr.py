"""SDCLR (Self-Damaging Contrastive Learning, Jiang et al., ICML 2021) as a solo-learn method.

View 1 goes through the dense network, view 2 through its pruned "self-competitor": the same
weights with the smallest-magnitude ``prune_ratio`` of all backbone conv weights masked out
(masks recomputed at the start of every epoch), and its own BatchNorm layers in the backbone and
the projector. The loss is NT-Xent between the two (``nt_xent_loss`` with one temperature).
One backward of it gives the shared weights the sum of both branches' gradients, which is what
the official two-pass code computes (dense with pruned detached, plus pruned with dense detached).

The projector is the settings' projector block (Linear-BN-ReLU-Linear by default; with
``proj_output_bn: true`` BCL-D's official head), or the official three-layer head with
``head: official``.
The pruned branch lives in ``pruned_norms`` / ``pruned_head_norms`` (names without "backbone" or
"encoder", so solo-learn's ``main_linear.py`` loads exactly the dense ``backbone.*`` weights); the
masks are not module buffers (DDP would broadcast them every step) but are saved in the checkpoint
(part ``sdclr``, with the RNG states), so a resumed run is exact.
With ``bcl: true`` it is BCL-D: the per-sample momentum losses of ``methods/boosted.py`` drive
BCL's per-sample RandAugment in the loader workers (docs/baselines.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import omegaconf
import torch

from solo_tase.losses.nt_xent import nt_xent_loss
from solo_tase.methods.boosted import BoostedMemorisation
from solo_tase.methods.config import BoostSettings, ConfigError, SdclrConfig
from solo_tase.methods.projected import ProjectedMethod
from solo_tase.methods.pruning import (
    BranchNorms,
    branch_forward,
    conv_weight_names,
    global_magnitude_masks,
    masks_checksum,
    masks_on_weights,
)
from solo_tase.methods.run_log import STATS_FILE, append_stats
from solo_tase.utils.distributed import same_on_all_ranks

# the backbones of the paper's family: their parameters are (almost) all conv weights
PRUNABLE_BACKBONES = ("resnet18", "resnet50", "wide_resnet28w2", "wide_resnet28w8")


def official_projector(in_dim: int, hidden: int, out: int) -> torch.nn.Sequential:
    """The official SDCLR head: Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN (the last two Linear
    layers without bias); the official code uses ``hidden = in_dim``."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(in_dim, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, out, bias=False),
        nn.BatchNorm1d(out),
    )


class SDCLR(ProjectedMethod):
    """Contrast the dense network (view 1) with its pruned self-competitor (view 2)."""

    config_class = SdclrConfig
    settings: SdclrConfig

    def __init__(self, cfg: omegaconf.DictConfig) -> None:
        super().__init__(cfg)
        # BCL-D (``bcl: true``): BCL's memorisation boost on top (solo_tase.methods.boosted)
        self.memorisation = (
            BoostedMemorisation(BoostSettings.of(self.settings), "sdclr")
            if self.settings.bcl
            else None
        )
        self.pruned_norms = BranchNorms(self.backbone)
        self.pruned_head_norms = BranchNorms(self.projector)
        self.prunable = conv_weight_names(self.backbone)
        self.masks: dict[str, torch.Tensor] = {}  # conv weight name -> bool mask (True = kept)
        self.mask_epoch = -1  # epoch whose start computed ``masks``

    def make_projector(self) -> torch.nn.Module:
        s = self.settings
        if s.head == "official":
            return official_projector(self.features_dim, s.proj_hidden_dim, s.proj_output_dim)
        return super().make_projector()

    @classmethod
    def add_and_assert_specific_cfg(cls, cfg: omegaconf.DictConfig) -> omegaconf.DictConfig:
        cfg = super().add_and_assert_specific_cfg(cfg)
        if cfg.backbone.name not in PRUNABLE_BACKBONES:
            raise ConfigError(
                f"backbone.name must be one of {list(PRUNABLE_BACKBONES)} for method 'sdclr' "
                f"(got {cfg.backbone.name!r}): SDCLR prunes conv weights, which are only part "
                "of the other backbones"
            )
        return cfg

    @property
    def learnable_params(self) -> list[dict[str, Any]]:
        pruned = chain(self.pruned_norms.parameters(), self.pruned_head_norms.parameters())
        return super().learnable_params + [{"name": "pruned_norms", "params": pruned}]

    def pruned_forward(self, X: torch.Tensor) -> torch.Tensor:
        """Projections [B, proj_output_dim] of images ``X`` [B, C, H, W] by the pruned branch."""
        if not self.masks:
            raise RuntimeError(
                "SDCLR masks are computed at the start of each training epoch; "
                "call update_masks() before pruned_forward() outside training"
            )
        if not self.no_channel_last:
            X = X.to(memory_format=torch.channels_last)
        self.masks = masks_on_weights(self.masks, dict(self.backbone.named_parameters()))
        feats = branch_forward(self.backbone, X, self.pruned_norms, self.masks)
        return branch_forward(self.projector, feats, self.pruned_head_norms)

    # ----------------------------------------------------------------- masks
    def update_masks(self) -> dict[str, Any]:
        """Prune the current backbone weights (global magnitude); returns the mask statistics."""
        params = dict(self.backbone.named_parameters())
        self.masks = global_magnitude_masks(
            {n: params[n] for n in self.prunable}, self.settings.prune_ratio
        )
        return self.mask_stats()

    def mask_stats(self) -> dict[str, Any]:
        """Counts of kept / pruned conv weights and the masks' checksum (per-epoch record)."""
        kept = sum(int(m.sum()) for m in self.masks.values())
        total = sum(m.numel() for m in self.masks.values())
        return {
            "prune_ratio": self.settings.prune_ratio,
            "kept_fraction": kept / total,
            "pruned_weights": total - kept,
            "conv_weights": total,
            "masks_checksum": masks_checksum(self.masks),
        }

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        epoch = self.current_epoch
        if self.mask_epoch != epoch:  # a run resumed mid-epoch keeps the saved masks
            self.update_masks()
            self.mask_epoch = epoch
        record = {"epoch": epoch, **self.mask_stats()}
        same_on_all_ranks(
            record["masks_checksum"],
            "SDCLR masks (are the backbone weights identical on every rank?)",
        )
        self.log(
            "sdclr/kept_fraction",
            float(record["kept_fraction"]),
            on_step=False,
            on_epoch=True,
            sync_dist=True,
        )
        append_stats(self.trainer, STATS_FILE, record)

    # ----------------------------------------------------------------- training
    def training_step(self, batch: Sequence[Any], batch_idx: int) -> torch.Tensor:
        """Dense view 1 (also trains the online classifier), pruned view 2, one NT-Xent."""
        _, X, targets = batch
        view1, view2 = X
        dense = self.base_training_step(view1, targets)
        self.log_dict(
            {
                "train_class_loss": dense["loss"],
                "train_acc1": dense["acc1"],
                "train_acc5": dense["acc5"],
            },
            on_epoch=True,
            sync_dist=True,
        )
        pruned = self.pruned_forward(view2)
        z = torch.cat([dense["z"], pruned])
        if self.memorisation is None:
            nce_loss = nt_xent_loss(z, self.settings.temperature)
        else:
            nce_loss = self.memorisation.loss(
                z, self.settings.temperature, batch[0], self.current_epoch
            )
        self.log("train_nce_loss", nce_loss, on_epoch=True, sync_dist=True)
        # GH: one loss on the dense and the pruned branch, gradients through both (the official
        # two terms, each against the other's detached logits, sum to this gradient)
        return self.add_blocks(nce_loss, dense["z"], pruned, batch[0]) + dense["loss"]

    def on_fit_start(self) -> None:
        if self.memorisation is not None:
            self.memorisation.start(self)

    def on_train_epoch_end(self) -> None:
        if self.memorisation is not None:
            self.memorisation.end_epoch(self)

    # ----------------------------------------------------------------- checkpoints
    def checkpoint_parts(self) -> dict[str, Any]:
        parts: dict[str, Any] = {
            "sdclr": {
                "masks": {n: m.cpu() for n, m in self.masks.items()},
                "mask_epoch": self.mask_epoch,
            }
        }
        if self.memorisation is not None:
            parts["bcl"] = self.memorisation.state_dict(self)
        return parts

    def required_parts(self) -> tuple[str, ...]:
        return ("sdclr", "bcl") if self.memorisation is not None else ("sdclr",)

    def load_checkpoint_parts(self, parts: dict[str, Any]) -> None:
        saved = parts["sdclr"]
        if saved["masks"] and sorted(saved["masks"]) != sorted(self.prunable):
            raise ValueError(
                "the SDCLR masks in this checkpoint are for another backbone: resume "
                "with the backbone.name the checkpoint was trained with"
            )
        # the model is not on its device yet: pruned_forward moves the masks to their weights
        self.masks = dict(saved["masks"])
        self.mask_epoch = int(saved["mask_epoch"])
        if self.memorisation is not None:
            self.memorisation.load_state_dict(parts["bcl"])
