"""RNG capture/restore for exact resume: per-rank states, old single-state checkpoints, and the
warnings when states cannot be matched to this run."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch

import solo_tase.utils.rng as rng
from solo_tase.utils.rng import capture_rng_state, restore_rng_state


def draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def roundtrip(state: dict) -> dict:
    """Through torch.save / torch.load(weights_only=True), as Lightning stores it."""
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_restore_replays_the_same_draws_after_a_checkpoint_round_trip():
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    saved = roundtrip(capture_rng_state())
    assert len(saved["per_rank"]) == 1
    expected = draws()
    draws()
    restore_rng_state(saved)
    assert draws() == expected


def test_each_rank_gets_its_own_state(monkeypatch):
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    rank0 = rng.local_rng_state()
    expected0 = draws()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    rank1 = rng.local_rng_state()
    expected1 = draws()
    saved = roundtrip({"per_rank": [rank0, rank1]})
    monkeypatch.setattr(rng, "world_size", lambda: 2)
    monkeypatch.setattr(rng, "rank", lambda: 1)
    restore_rng_state(saved)
    assert draws() == expected1
    monkeypatch.setattr(rng, "rank", lambda: 0)
    restore_rng_state(saved)
    assert draws() == expected0


def test_another_world_size_warns_and_leaves_the_states(monkeypatch):
    saved = roundtrip({"per_rank": [rng.local_rng_state()] * 2})
    torch.manual_seed(11)
    expected = float(torch.rand(1))
    torch.manual_seed(11)
    with pytest.warns(UserWarning, match="2 rank"):
        restore_rng_state(saved)  # this process is one rank
    assert float(torch.rand(1)) == expected


def test_old_single_state_checkpoints_still_load(monkeypatch):
    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    old = roundtrip(rng.local_rng_state())  # the format written before per-rank states
    expected = draws()
    restore_rng_state(old)
    assert draws() == expected
    monkeypatch.setattr(rng, "world_size", lambda: 2)
    with pytest.warns(UserWarning, match="one process"):
        restore_rng_state(old)


def test_a_saved_cuda_state_without_a_gpu_warns(monkeypatch):
    state = rng.local_rng_state()
    state["cuda"] = torch.ByteTensor(16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no GPU"):
        restore_rng_state({"per_rank": [state]})
