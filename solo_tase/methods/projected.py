"""Glue shared by the plugin's methods (TASE, SDCLR, TS, BCL, SimCLR+): validated ``method_kwargs``,
the projector, the blocks every method can add (GH), and the checkpoint state.

A subclass names its settings record (``config_class``, with ``from_kwargs``); this base validates
it at start (two large crops, the record's rules, GH's warm-up against ``max_epochs``), writes the
resolved values back so they reach args.json, builds ``self.projector`` (:meth:`make_projector`)
and the GH block. Each method's ``training_step`` ends with :meth:`add_blocks` on its contrastive
loss. Checkpoints: a subclass returns its parts (:meth:`checkpoint_parts`, restored by
:meth:`load_checkpoint_parts`); this base saves them with the RNG states in one layout
(``methods/checkpoint_state.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, ClassVar

import omegaconf
import torch
from solo.methods.base import BaseMethod

from solo_tase.methods.checkpoint_state import load_parts, save_parts
from solo_tase.methods.checks import check_two_large_crops
from solo_tase.methods.config import ProjectorSettings
from solo_tase.methods.gh_block import GhBlock, resolve_gh
from solo_tase.methods.run_log import STATS_FILE, append_stats
from solo_tase.utils.distributed import same_on_all_ranks


def mlp_projector(
    in_dim: int, hidden: int, out: int, *, batch_norm: bool, output_bn: bool = False
) -> torch.nn.Sequential:
    """Linear-[BN]-ReLU-Linear-[BN] projector; without BN it is solo-learn's SimCLR projector. With
    ``output_bn`` the last Linear has no bias and a BatchNorm follows it (BCL's and GH's head)."""
    nn = torch.nn
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden)]  # built in order: the RNG draws match
    layers += [nn.BatchNorm1d(hidden)] if batch_norm else []
    layers += [nn.ReLU(), nn.Linear(hidden, out, bias=not output_bn)]
    layers += [nn.BatchNorm1d(out)] if output_bn else []
    return nn.Sequential(*layers)


class ProjectedMethod(BaseMethod):
    """A solo-learn method whose ``forward`` adds ``z`` = projector(backbone features)."""

    config_class: ClassVar[type[Any]]  # settings record with ``from_kwargs(Mapping)``
    projector: torch.nn.Module

    def __init__(self, cfg: omegaconf.DictConfig) -> None:
        super().__init__(cfg)
        kwargs = omegaconf.OmegaConf.to_container(cfg.method_kwargs, resolve=True)
        self.settings: Any = self.config_class.from_kwargs(kwargs)
        self.projector = self.make_projector()
        gh = self.settings.gh
        self.gh = GhBlock(gh, self.settings.proj_output_dim) if gh.enabled else None

    def make_projector(self) -> torch.nn.Module:
        """The projector of the settings' projector block (subclasses may offer other heads)."""
        s: ProjectorSettings = self.settings
        return mlp_projector(
            self.features_dim,
            s.proj_hidden_dim,
            s.proj_output_dim,
            batch_norm=s.proj_batch_norm,
            output_bn=s.proj_output_bn,
        )

    @classmethod
    def add_and_assert_specific_cfg(cls, cfg: omegaconf.DictConfig) -> omegaconf.DictConfig:
        """Validate ``method_kwargs`` and write the resolved values back (they reach args.json)."""
        cfg = super().add_and_assert_specific_cfg(cfg)
        check_two_large_crops(cfg, cfg.method)
        kwargs = omegaconf.OmegaConf.to_container(cfg.method_kwargs, resolve=True)
        kwargs = resolve_gh(kwargs, cfg)  # type: ignore[arg-type]
        resolved = cls.resolve_config(kwargs, cfg)
        cfg.method_kwargs = omegaconf.OmegaConf.create(asdict(resolved))
        return cfg

    @classmethod
    def resolve_config(cls, kwargs: Mapping[str, Any], cfg: omegaconf.DictConfig) -> Any:
        """The validated settings record from ``method_kwargs`` (subclasses may use ``cfg``)."""
        return cls.config_class.from_kwargs(kwargs)

    @property
    def learnable_params(self) -> list[dict[str, Any]]:
        projector = {"name": "projector", "params": self.projector.parameters()}
        return super().learnable_params + [projector]

    def forward(self, X: torch.Tensor) -> dict[str, Any]:
        out = super().forward(X)
        out["z"] = self.projector(out["feats"])
        return out

    def training_step(self, batch: Sequence[Any], batch_idx: int) -> Any:
        """solo-learn's shared step (one forward per view), or with ``joint_views`` one forward
        of both views as a batch of 2B, split back into per-view lists (``feats``, ``z``,
        ``logits``); the online classifier's loss and accuracies are then over both views."""
        if not self.settings.joint_views:
            return super().training_step(batch, batch_idx)
        _, X, targets = batch
        b = X[0].size(0)
        both = self.base_training_step(torch.cat(list(X)), torch.cat([targets, targets]))
        outs = {
            k: list(v.split(b))
            if isinstance(v, torch.Tensor) and v.dim() and len(v) == 2 * b
            else v
            for k, v in both.items()
        }
        metrics = {"train_class_loss": outs["loss"], "train_acc1": outs["acc1"]}
        self.log_dict({**metrics, "train_acc5": outs["acc5"]}, on_epoch=True, sync_dist=True)
        return outs

    # ----------------------------------------------------------------- blocks
    def on_train_start(self) -> None:
        super().on_train_start()
        if self.gh is not None:
            record = self.gh.start(self)
            append_stats(self.trainer, STATS_FILE, {"epoch": self.current_epoch, **record})

    def add_blocks(
        self, loss: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor, indexes: torch.Tensor
    ) -> torch.Tensor:
        """The method's contrastive ``loss`` plus its blocks' (GH) on the two views'
        projections ``z1``, ``z2`` [B, D] of the dataset ``indexes`` [B]."""
        if self.gh is None:
            return loss
        term, stats = self.gh.loss(z1, z2, indexes, self.current_epoch)
        self.log_dict({f"gh/{k[3:]}": v for k, v in stats.items()}, on_epoch=True, sync_dist=True)
        return loss + term

    def on_train_epoch_start(self) -> None:
        """The blocks' record of the epoch before (collectives run here, not at an epoch's end,
        where Lightning's rank-0 progress bar reduces the logged metrics first)."""
        if self.current_epoch > 0:
            self._record_blocks(self.current_epoch - 1)

    def on_train_end(self) -> None:
        self._record_blocks(self.trainer.current_epoch - 1)  # the last epoch's

    def _record_blocks(self, epoch: int) -> None:
        """One stats line per epoch for GH: its weight, the prior's statistics and the state's
        checksum on every rank (``gh_state_checksum_by_rank``)."""
        if self.gh is None or self.gh.state is None:
            return
        self.gh.end_epoch(epoch)  # large_scale: the epoch's averages and prior, folded first
        record: dict[str, Any] = {"epoch": epoch, "gh_weight": self.gh.state.weight(epoch)}
        record.update(self.gh.state.summary())
        record["gh_state_checksum_by_rank"] = same_on_all_ranks(
            self.gh.state.state_checksum(), "GH logit averages and prior"
        )
        append_stats(self.trainer, STATS_FILE, record)

    # ----------------------------------------------------------------- checkpoints
    def checkpoint_parts(self) -> dict[str, Any]:
        """The method's own per-run state, by part name (tensors and plain values)."""
        return {}

    def required_parts(self) -> tuple[str, ...]:
        """The parts a checkpoint must hold for this method and configuration to resume."""
        return ()

    def load_checkpoint_parts(self, parts: dict[str, Any]) -> None:
        """Restore :meth:`checkpoint_parts`' output."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        parts = self.checkpoint_parts()
        if self.gh is not None and self.gh.state is not None:
            parts["gh"] = self.gh.state_dict()
        save_parts(checkpoint, str(self.cfg.method), parts)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        required = self.required_parts() + (("gh",) if self.gh is not None else ())
        parts = load_parts(checkpoint, str(self.cfg.method), required)
        self.load_checkpoint_parts(parts)
        if self.gh is not None:
            self.gh.load_state_dict(parts["gh"])
