"""Zoo weights files: writing backbone-only files, and checking a file against its card.

A backbone-only file is ``{"state_dict": {"backbone.<name>": tensor}}`` saved with ``torch.save``:
floating-point tensors in fp32, integer buffers (BatchNorm's ``num_batches_tracked``) unchanged.
solo-learn's ``main_linear.py`` (``torch.load(p)["state_dict"]``, keys containing "backbone") and
``solo-tase eval`` (:mod:`solo_tase.eval.checkpoint`) both load it, with the run's ``args.json``
beside it. Reading checkpoints and hashing files is :mod:`solo_tase.eval.checkpoint`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from solo_tase.eval.checkpoint import STATE_PREFIX, sha256_file


def save_backbone(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write the backbone tensors ``state`` (names without ``backbone.``) as a zoo weights file."""
    out = {STATE_PREFIX + k: (v.detach().to(torch.float32) if v.is_floating_point()
                              else v.detach()).contiguous() for k, v in state.items()}
    torch.save({"state_dict": out}, path)


def file_problems(path: Path, sha256: str, size: int) -> list[str]:
    """What is wrong with ``path`` against an expected sha256 and size in bytes (empty: all good)."""
    if not path.is_file():
        return [f"{path} does not exist"]
    actual_size = path.stat().st_size
    if actual_size != size:
        return [f"{path} has {actual_size} bytes, the card says {size}"]
    actual = sha256_file(path)
    if actual != sha256:
        return [f"{path} has sha256 {actual}, the card says {sha256}"]
    return []
