"""Glue shared by the plugin's solo-learn methods: config checks, batch indexes, run folder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from solo_tase.methods.config import ConfigError

STATS_FILE = "solo_tase_stats.jsonl"  # per-epoch JSON lines beside args.json


def count_crops(augmentations: Any) -> tuple[int, int]:
    """(large, small) crops as solo-learn counts them: large = crop_size of the first pipeline."""
    big = augmentations[0].crop_size
    large = sum(int(a.num_crops) for a in augmentations if a.crop_size == big)
    small = sum(int(a.num_crops) for a in augmentations if a.crop_size != big)
    return large, small


def check_two_large_crops(cfg: DictConfig, method: str) -> None:
    """The plugin's methods contrast exactly two large crops and no small crops."""
    large, small = count_crops(cfg.augmentations)
    if large != 2 or small != 0:
        raise ConfigError(
            f"method '{method}' needs exactly 2 large crops and no small crops, but "
            f"augmentations give {large} large and {small} small: set "
            "augmentations[*].num_crops so that the crops of size augmentations[0].crop_size "
            "add up to 2"
        )


def check_dali_indexes(cfg: DictConfig, method: str) -> None:
    """With DALI, real dataset indexes require ``dali.encode_indexes_into_labels=True``."""
    if OmegaConf.select(cfg, "data.format") == "dali" and not OmegaConf.select(
        cfg, "dali.encode_indexes_into_labels", default=False
    ):
        raise ConfigError(
            f"method '{method}' keeps per-sample state keyed by dataset index, but DALI only "
            "yields real indexes with dali.encode_indexes_into_labels=True (allowed: true); "
            "set it in the config"
        )


def early_checks(config: DictConfig, methods: Any, indexed: Any) -> None:
    """Checks run by the Hydra callback before main_pretrain starts (whose own crop assertion
    has no message): two large crops for the plugin's ``methods``, real DALI indexes for the
    ``indexed`` ones (those that key per-sample state by dataset index)."""
    method = OmegaConf.select(config, "method")
    if method not in methods or OmegaConf.select(config, "augmentations") is None:
        return
    check_two_large_crops(config, method)
    if method in indexed:
        check_dali_indexes(config, method)


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


def run_dir(trainer: Any) -> Path | None:
    """Folder where solo-learn's Checkpointer writes args.json and checkpoints, if any."""
    for cb in getattr(trainer, "callbacks", []):
        path = getattr(cb, "path", None)
        if path is not None and hasattr(cb, "ckpt_placeholder"):
            return Path(path)
    return None


def append_stats(trainer: Any, filename: str, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line to ``<run dir>/<filename>`` (rank 0, if a run dir)."""
    folder = run_dir(trainer)
    if folder is None or not getattr(trainer, "is_global_zero", True):
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / filename, "a") as f:
        f.write(json.dumps(record) + "\n")
