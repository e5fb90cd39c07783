"""TASE's clean pass (``bank_feature: clean``): before a re-estimate, the bank is refilled with
the backbone features of every training image seen through the evaluation view (no random
augmentation, BatchNorm in eval mode), each DDP rank passing over its shard."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from solo_tase.data.solo_transforms import clean_copy
from solo_tase.methods.tase_state import TaseState


@torch.no_grad()
def clean_pass(module: Any, state: TaseState, epoch: int) -> float:
    """Write the clean features of all N training samples into ``state``'s bank (gathered over
    ranks, so every rank's bank is complete); returns the pass's seconds."""
    trainer = module.trainer
    dataset = clean_copy(trainer.train_dataloader.dataset)
    sampler: DistributedSampler[Any] | None = (
        DistributedSampler(
            dataset, num_replicas=trainer.world_size, rank=trainer.global_rank, shuffle=False
        )
        if trainer.world_size > 1
        else None
    )
    loader = DataLoader(
        dataset,
        batch_size=int(module.cfg.optimizer.batch_size),
        sampler=sampler,
        shuffle=False,
        num_workers=int(module.cfg.data.num_workers),
        generator=torch.Generator().manual_seed(epoch),  # the global RNG stream stays untouched
    )
    start = time.perf_counter()
    was_training = module.backbone.training
    module.backbone.eval()
    try:
        with trainer.strategy.precision_plugin.forward_context():
            for indexes, images, targets in loader:
                feats = module.backbone(images.to(module.device, non_blocking=True))
                state.observe(
                    indexes.to(module.device), feats.float(), targets.to(module.device), epoch
                )
    finally:
        module.backbone.train(was_training)
    return time.perf_counter() - start
