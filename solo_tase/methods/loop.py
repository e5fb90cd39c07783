"""What a method reads from Lightning's loop: a batch's dataset indexes, the training time in
epochs and the training-set size."""

from __future__ import annotations

import math
from typing import Any

import torch

from solo_tase.settings import ConfigError


def batch_indexes(indexes: torch.Tensor) -> torch.Tensor:
    """Dataset indexes of a solo-learn batch as int64 [B] (DALI yields [B, 1] tensors)."""
    return indexes.reshape(-1).long()


def training_time(trainer: Any, epoch: int, batch_idx: int) -> float:
    """Training time in epochs: ``epoch + batch_idx / batches per epoch``; just ``epoch`` when the
    loader has no length (``num_training_batches`` is ``inf``) or no batches."""
    batches = float(getattr(trainer, "num_training_batches", 0) or 0)
    if not math.isfinite(batches) or batches <= 0:
        return float(epoch)
    return epoch + batch_idx / batches


def loader_num_samples(trainer: Any) -> int | None:
    """Training-set size N from the trainer's loader (torch Dataset or solo's DALI wrapper)."""
    loader = getattr(trainer, "train_dataloader", None)
    if loader is None:
        return None
    dataset = getattr(loader, "dataset", None)
    if dataset is not None:
        return len(dataset)
    size = getattr(loader, "dataset_size", None)  # solo.data.dali_dataloader.PretrainWrapper
    return int(size) if size else None


def resolve_num_samples(trainer: Any, configured: int | None) -> int:
    """N from ``method_kwargs.num_samples`` and/or the loader; they must agree."""
    found = loader_num_samples(trainer)
    if configured is not None and found is not None and configured != found:
        raise ConfigError(
            f"method_kwargs.num_samples={configured} but the training loader has {found} "
            "samples: remove method_kwargs.num_samples or fix it"
        )
    n = configured if configured is not None else found
    if n is None:
        raise ConfigError(
            "cannot read the training-set size from the loader: set method_kwargs.num_samples "
            "to the number of training images"
        )
    return n
