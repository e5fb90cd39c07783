"""Glue shared by the plugin's methods (TASE, SDCLR, TS): validated ``method_kwargs``, a projector.

A subclass names its config dataclass (``config_class``, with ``from_kwargs``) and builds
``self.projector`` in ``__init__``; this base validates the config at start (two large crops, the
dataclass's checks) and writes the resolved values back so they reach args.json.
"""

from __future__ import annotations

from dataclasses import asdict
from collections.abc import Mapping
from typing import Any, ClassVar

import omegaconf
import torch
from solo.methods.base import BaseMethod

from solo_tase.methods.checks import check_two_large_crops


def mlp_projector(in_dim: int, hidden: int, out: int, *, batch_norm: bool) -> torch.nn.Sequential:
    """Linear-(BN)-ReLU-Linear projector; without BN it is solo-learn's SimCLR projector."""
    norm = [torch.nn.BatchNorm1d(hidden)] if batch_norm else []
    return torch.nn.Sequential(
        torch.nn.Linear(in_dim, hidden), *norm, torch.nn.ReLU(), torch.nn.Linear(hidden, out)
    )


class ProjectedMethod(BaseMethod):
    """A solo-learn method whose ``forward`` adds ``z`` = projector(backbone features)."""

    config_class: ClassVar[type[Any]]  # dataclass with ``from_kwargs(Mapping) -> instance``
    projector: torch.nn.Module  # built by the subclass

    def __init__(self, cfg: omegaconf.DictConfig) -> None:
        super().__init__(cfg)
        self.method_cfg = self.config_class.from_kwargs(dict(cfg.method_kwargs))

    @classmethod
    def add_and_assert_specific_cfg(cls, cfg: omegaconf.DictConfig) -> omegaconf.DictConfig:
        """Validate ``method_kwargs`` and write the resolved values back (they reach args.json)."""
        cfg = super().add_and_assert_specific_cfg(cfg)
        check_two_large_crops(cfg, cfg.method)
        kwargs = omegaconf.OmegaConf.to_container(cfg.method_kwargs, resolve=True)
        resolved = cls.resolve_config(kwargs, cfg)  # type: ignore[arg-type]
        cfg.method_kwargs = omegaconf.OmegaConf.create(asdict(resolved))
        return cfg

    @classmethod
    def resolve_config(cls, kwargs: Mapping[str, Any], cfg: omegaconf.DictConfig) -> Any:
        """The validated config dataclass from ``method_kwargs`` (subclasses may use ``cfg``)."""
        return cls.config_class.from_kwargs(kwargs)

    @property
    def learnable_params(self) -> list[dict[str, Any]]:
        projector = {"name": "projector", "params": self.projector.parameters()}
        return super().learnable_params + [projector]

    def forward(self, X: torch.Tensor) -> dict[str, Any]:
        out = super().forward(X)
        out["z"] = self.projector(out["feats"])
        return out
