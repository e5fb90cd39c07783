"""Per-sample feature bank keyed by dataset index.

The bank stores, under every sample's dataset index, an L2-normalised backbone feature (no grad)
and its target (-1 when unknown): with TASE's default ``bank_feature: clean`` the feature of the
evaluation view, written by one pass over the training set before each estimate
(``methods/clean_pass.py``); with ``crop1`` / ``mean`` the first crop's (or both crops' mean) at
every training step. Under DDP the caller
gathers ``(indexes, features, targets)`` from all ranks before writing, so every rank holds the
whole bank whatever sampler shards the data. Rows never written keep ``epoch_seen = -1``; rows not
written in the latest epoch (e.g. dropped by ``drop_last``) keep their older feature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class MemoryBank:
    """Features [N, D] (``dtype`` storage), targets [N] and the epoch each row was last written."""

    def __init__(
        self,
        num_samples: int,
        dim: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        self.features = torch.zeros(num_samples, dim, dtype=dtype, device=device)
        self.targets = torch.full((num_samples,), -1, dtype=torch.long, device=device)
        self.epoch_seen = torch.full((num_samples,), -1, dtype=torch.long, device=device)

    @property
    def num_samples(self) -> int:
        return self.features.size(0)

    @torch.no_grad()
    def write(
        self,
        indexes: torch.Tensor,
        features: torch.Tensor,
        targets: torch.Tensor | None,
        epoch: int,
    ) -> None:
        """Store normalised ``features`` [B, D] (and ``targets`` [B]) under ``indexes`` [B]."""
        indexes = indexes.to(self.features.device).long().flatten()
        if indexes.numel() and (int(indexes.min()) < 0 or int(indexes.max()) >= self.num_samples):
            raise IndexError(
                f"sample indexes must lie in [0, {self.num_samples}), got "
                f"[{int(indexes.min())}, {int(indexes.max())}]: the loader's dataset does not "
                "match the bank size (method_kwargs.num_samples), or the indexes are not dataset "
                "indexes (with DALI set dali.encode_indexes_into_labels=True)"
            )
        self.features[indexes] = (
            F.normalize(features.detach().float(), dim=1)
            .to(self.features.dtype)
            .to(self.features.device)
        )
        if targets is not None:
            self.targets[indexes] = targets.to(self.targets.device).long().flatten()
        self.epoch_seen[indexes] = epoch

    def to(self, device: torch.device | str) -> MemoryBank:
        """Move all tensors to ``device`` (in place) and return self."""
        for name in ("features", "targets", "epoch_seen"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {
            "features": self.features.cpu(),
            "targets": self.targets.cpu(),
            "epoch_seen": self.epoch_seen.cpu(),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if tuple(state["features"].shape) != tuple(self.features.shape):
            raise ValueError(
                f"memory bank in the checkpoint has shape {tuple(state['features'].shape)} but "
                f"this run expects {tuple(self.features.shape)} (num_samples x feature dim): "
                "resume with the same dataset and backbone"
            )
        device = self.features.device
        self.features = state["features"].to(device, self.features.dtype)
        self.targets = state["targets"].to(device)
        self.epoch_seen = state["epoch_seen"].to(device)
