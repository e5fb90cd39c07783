"""Capture and restore the global RNG states (python, numpy, torch CPU and CUDA) of every rank.

Stored in the checkpoint so that a resumed run draws the same data order and augmentations as
the uninterrupted run (Lightning restores weights, optimiser and schedulers, but not RNGs).
Under DDP each rank draws its own augmentations, so :func:`capture_rng_state` gathers every
rank's state (a collective: call it on every rank, as ``on_save_checkpoint`` is) and
:func:`restore_rng_state` gives each rank its own. When the resumed run has another number of
ranks, or a rank no longer has the GPU whose state was saved, the states that cannot be matched
are left alone with a warning. Checkpoints holding a single state (one process) still load.
Only tensors and plain Python values are stored, so ``torch.load(weights_only=True)``
(Lightning's default) reads them.
"""

from __future__ import annotations

import random
import warnings
from typing import Any, cast

import numpy as np
import torch
import torch.distributed as dist

from solo_tase.utils.distributed import is_distributed, rank, world_size

PER_RANK = "per_rank"


def local_rng_state() -> dict[str, Any]:
    """This process's RNG states; ``cuda`` is the current GPU's state when CUDA is in use."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _numpy_state_to_plain(cast(tuple[Any, ...], np.random.get_state())),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda_device"] = torch.cuda.current_device()
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def capture_rng_state() -> dict[str, Any]:
    """``{"per_rank": [state of rank 0, state of rank 1, ...]}`` (gathered from every rank)."""
    local = local_rng_state()
    if not is_distributed():
        return {PER_RANK: [local]}
    states: list[Any] = [None] * world_size()
    dist.all_gather_object(states, local)
    return {PER_RANK: states}


def restore_rng_state(state: dict[str, Any]) -> None:
    """Give this rank its saved RNG states; warn about what cannot be restored."""
    if PER_RANK not in state:  # a single state, written before per-rank states were saved
        if world_size() > 1:
            warnings.warn(
                "this checkpoint holds the RNG state of one process only: every rank "
                "resumes with it, so data order and augmentations differ from the "
                "uninterrupted run",
                stacklevel=2,
            )
        _restore_local(state, legacy_cuda=True)
        return
    states = state[PER_RANK]
    if len(states) != world_size():
        warnings.warn(
            f"the checkpoint holds the RNG states of {len(states)} rank(s) but this run "
            f"has {world_size()}: RNG states are not restored, so data order and "
            "augmentations differ from the uninterrupted run (resume with the same "
            "number of processes to restore them)",
            stacklevel=2,
        )
        return
    _restore_local(states[rank()], legacy_cuda=False)


def _restore_local(state: dict[str, Any], *, legacy_cuda: bool) -> None:
    random.setstate(_python_state(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" not in state:
        return
    if not torch.cuda.is_available():
        warnings.warn(
            "the checkpoint holds a CUDA RNG state but this run has no GPU: it is not restored",
            stacklevel=3,
        )
    elif legacy_cuda:
        if len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])
        else:
            warnings.warn(
                f"the checkpoint holds the CUDA RNG states of {len(state['cuda'])} "
                f"GPU(s) but {torch.cuda.device_count()} are visible: they are not "
                "restored",
                stacklevel=3,
            )
    else:
        torch.cuda.set_rng_state(state["cuda"])  # this rank's current device


def _python_state(saved: Any) -> tuple[Any, ...]:
    """``random.setstate`` needs tuples; a checkpoint round trip may give lists."""
    version, internal, gauss = saved
    return (version, tuple(internal), gauss)


def _numpy_state_to_plain(state: tuple[Any, ...]) -> tuple[Any, ...]:
    kind, keys, pos, has_gauss, cached = state
    return (
        str(kind),
        torch.from_numpy(keys.astype(np.int64)),
        int(pos),
        int(has_gauss),
        float(cached),
    )
