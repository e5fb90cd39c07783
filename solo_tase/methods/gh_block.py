"""Geometric Harmonization as a block of any plugin method (``method_kwargs.gh``): the thin glue
between a method's hooks and the pure pieces (``losses/gh.py``, ``methods/gh_state.py``).

:class:`projected.ProjectedMethod` owns the block and calls it: :func:`resolve_gh` when the config
is resolved (K from ``data.num_classes``, the warm-up against ``max_epochs``), :meth:`GhBlock.start`
in ``on_train_start``, :meth:`GhBlock.loss` from each method's ``training_step`` with the two
views' projections, :meth:`GhBlock.end_epoch` once an epoch is over (``schedule: large_scale``
folds the epoch's logits there, or at the next step at the latest), and the block's state is one
part of the checkpoint (``gh``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import omegaconf
import torch

from solo_tase.losses.gh import gh_loss_func, target_logits
from solo_tase.methods.checks import check_dali_indexes
from solo_tase.methods.config import GhSettings
from solo_tase.methods.gh_state import GhState, load_target, simplex_etf
from solo_tase.methods.loop import batch_indexes, resolve_num_samples
from solo_tase.methods.run_log import run_dir
from solo_tase.settings import ConfigError

TARGET_FILE = "gh_target.npy"  # the run's target structure, beside args.json


def resolve_gh(kwargs: Mapping[str, Any], cfg: omegaconf.DictConfig) -> dict[str, Any]:
    """``method_kwargs`` with ``gh.target_dim`` defaulting to ``data.num_classes``; refuses a
    warm-up that would outlast the run."""
    out = dict(kwargs)
    gh = dict(out.get("gh") or {})
    if not gh.get("enabled"):
        return out
    check_dali_indexes(cfg, str(cfg.method))  # the moving-average logits are kept per sample
    if gh.get("target_dim") is None:
        classes = omegaconf.OmegaConf.select(cfg, "data.num_classes")
        if not classes:
            raise ConfigError(
                "method_kwargs.gh.target_dim is null and data.num_classes is not set: give the "
                "number of vertices of GH's target (the official code uses the number of classes)"
            )
        gh["target_dim"] = int(classes)
    max_epochs = omegaconf.OmegaConf.select(cfg, "max_epochs")
    warmup = gh.get("warmup_epochs", GhSettings.warmup_epochs)
    if max_epochs is not None and isinstance(warmup, int) and warmup >= int(max_epochs):
        raise ConfigError(
            f"method_kwargs.gh.warmup_epochs must be < max_epochs = {max_epochs} (got {warmup}): "
            "GH starts after its warm-up, which would outlast the run (the official recipe warms "
            "up for half the run: 500 of 1000 epochs)"
        )
    out["gh"] = gh
    return out


class GhBlock:
    """GH's target, state and loss for one method."""

    def __init__(self, settings: GhSettings, proj_output_dim: int) -> None:
        assert settings.target_dim is not None, "resolve_gh fills target_dim"
        self.settings = settings
        k, d = settings.target_dim, proj_output_dim
        if settings.target_file is not None:
            self.target = load_target(settings.target_file, k, d)
        else:
            self.target = simplex_etf(k, d, settings.target_seed)
        self.state: GhState | None = None
        self._restored: dict[str, Any] | None = None

    def start(self, module: Any) -> dict[str, Any]:
        """Build the state on the module's device (N from the loader), restore a saved one, and
        write the target beside args.json; returns the record of the start."""
        n = resolve_num_samples(module.trainer, None)
        self.state = GhState(self.settings, self.target, n, device=module.device)
        if self._restored is not None:
            self.state.load_state_dict(self._restored)
            self._restored = None
        folder = run_dir(module.trainer)
        if folder is not None and getattr(module.trainer, "is_global_zero", True):
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / TARGET_FILE, self.target.numpy())
        return {"gh_target_checksum": self.state.checksum(), "gh_target_dim": self.target.size(0)}

    def loss(
        self, z1: torch.Tensor, z2: torch.Tensor, indexes: torch.Tensor, epoch: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The weighted GH loss of the two views' projections ``z1``, ``z2`` [B, D] (gradients
        through both), against the prior of the steps / epochs before; then view 1's logits are
        recorded (``GhState.observe``). Also its statistics."""
        assert self.state is not None, "start() runs in on_train_start"
        s = self.settings
        self.state.end_epoch(epoch - 1)  # large_scale: the prior of the epochs before
        target = self.state.target.to(z1.device)
        t1, t2 = target_logits(z1, target), target_logits(z2, target)
        weight = self.state.weight(epoch)
        if weight > 0:
            value = gh_loss_func(
                t1,
                t2,
                self.state.prior,
                epsilon=s.sinkhorn_epsilon,
                iterations=s.sinkhorn_iterations,
                temperature=s.temperature,
            )
        else:
            value = torch.zeros((), device=z1.device)
        self.state.observe(batch_indexes(indexes), t1.detach(), epoch)
        return weight * value, {"gh_weight": weight, "gh_loss": float(value.detach())}

    def end_epoch(self, epoch: int) -> None:
        """The end of ``epoch`` (0-based): large_scale folds its logits into the averages and
        may re-estimate the prior (done at the next step otherwise); cifar: nothing."""
        if self.state is not None:
            self.state.end_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        assert self.state is not None
        return self.state.state_dict()

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Keep the saved state for :meth:`start`, or apply it at once once started."""
        if self.state is None:
            self._restored = saved
        else:
            self.state.load_state_dict(saved)
