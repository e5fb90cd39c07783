"""Linear probe: separable features reach ~100%, random ones chance; seeded and deterministic."""

from __future__ import annotations

import pytest
import torch

from solo_tase.eval.probe import (
    ProbeOptions,
    fit_linear_probe,
    linear_probe_predict,
    make_scheduler,
)
from solo_tase.settings import parse


def clusters(
    n_per_class: int, num_classes: int, dim: int, seed: int, spread: float
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_classes, dim, generator=torch.Generator().manual_seed(99)) * 3
    y = torch.arange(num_classes).repeat_interleave(n_per_class)
    return centres[y] + spread * torch.randn(len(y), dim, generator=g), y


def accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * (pred == y).float().mean().item()


def test_separable_features_are_classified_almost_perfectly():
    x, y = clusters(50, 5, 16, seed=0, spread=0.3)
    tx, ty = clusters(40, 5, 16, seed=1, spread=0.3)
    assert accuracy(linear_probe_predict(x, y, tx, 5), ty) >= 99.0  # the default 500-epoch recipe


def test_random_features_give_chance():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(500, 32, generator=g), torch.randint(0, 10, (500,), generator=g)
    tx, ty = torch.randn(3000, 32, generator=g), torch.randint(0, 10, (3000,), generator=g)
    acc = accuracy(linear_probe_predict(x, y, tx, 10, ProbeOptions(epochs=100)), ty)
    assert abs(acc - 10.0) < 3.0


def test_seeded_deterministic_and_leaves_global_rng_alone():
    x, y = clusters(20, 3, 8, seed=0, spread=2.0)
    opts = ProbeOptions(epochs=30, batch_size=16)
    state = torch.get_rng_state()
    a = fit_linear_probe(x, y, 3, opts, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    b = fit_linear_probe(x, y, 3, opts, seed=1)
    c = fit_linear_probe(x, y, 3, opts, seed=2)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert not torch.equal(a.weight, c.weight)


@pytest.mark.parametrize("schedule", ["exponential", "cosine"])
def test_learning_rate_decays_from_lr_to_lr_min(schedule):
    opts = ProbeOptions(epochs=50, lr=1e-2, lr_min=1e-6, lr_schedule=schedule)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=opts.lr)
    sched = make_scheduler(opt, opts)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(opts.epochs):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(1e-2) and lrs[-1] == pytest.approx(1e-6, rel=1e-6)
    assert all(a > b for a, b in zip(lrs, lrs[1:]))


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"epochs": 0}, "--epochs"),
        ({"lr_min": 1.0}, "--lr-min"),
        ({"lr_schedule": "step"}, "--lr-schedule"),
        ({"batch_size": 0}, "--batch-size"),
        ({"weight_decay": -1.0}, "--weight-decay"),
    ],
)
def test_bad_options_name_the_flag(bad, key):
    with pytest.raises(ValueError, match=key):
        parse(ProbeOptions, bad, "--")
