"""Temperature Schedules: the cosine schedule's period definition and TS's configuration."""

from __future__ import annotations

import math

import pytest

from solo_tase.methods.config import ConfigError, TsConfig


def test_defaults_are_the_paper_values():
    cfg = TsConfig.from_kwargs({})
    assert (cfg.tau_min, cfg.tau_max, cfg.period, cfg.per_step) == (0.1, 1.0, 200.0, False)


def test_period_is_half_an_oscillation():
    """T is the time from tau_max DOWN to tau_min; the full cycle back to tau_max takes 2T.
    (Reading T as the full cycle would give tau(T) = tau_max: the known trap.)"""
    cfg = TsConfig.from_kwargs({"tau_min": 0.1, "tau_max": 1.0, "period": 200})
    assert cfg.temperature(0) == pytest.approx(1.0)
    assert cfg.temperature(100) == pytest.approx(0.55)  # half-way down
    assert cfg.temperature(200) == pytest.approx(0.1)
    assert cfg.temperature(300) == pytest.approx(0.55)
    assert cfg.temperature(400) == pytest.approx(1.0)  # one full oscillation = 400 epochs
    assert cfg.temperature(600) == pytest.approx(0.1)
    assert cfg.temperature(200) != pytest.approx(cfg.temperature(0))


def test_schedule_matches_the_paper_formula_and_is_monotone_per_half_cycle():
    cfg = TsConfig.from_kwargs({"tau_min": 0.2, "tau_max": 0.8, "period": 7.5})
    ts = [i * 0.25 for i in range(0, 61)]  # 0 .. 15 epochs = one full cycle
    taus = [cfg.temperature(t) for t in ts]
    for t, tau in zip(ts, taus):
        assert tau == pytest.approx(0.2 + 0.6 * (1 + math.cos(math.pi * t / 7.5)) / 2)
        assert 0.2 - 1e-12 <= tau <= 0.8 + 1e-12
    down, up = taus[:31], taus[30:]
    assert all(a > b for a, b in zip(down, down[1:]))
    assert all(a < b for a, b in zip(up, up[1:]))


def test_equal_bounds_give_a_constant_temperature():
    cfg = TsConfig.from_kwargs({"tau_min": 0.2, "tau_max": 0.2})
    assert {round(cfg.temperature(t), 12) for t in (0, 13.3, 200, 333)} == {0.2}


@pytest.mark.parametrize(
    "kwargs, key, allowed",
    [
        ({"tau_min": 0.0}, "method_kwargs.tau_min", "> 0"),
        ({"tau_min": -0.1}, "method_kwargs.tau_min", "> 0"),
        ({"tau_min": 0.6, "tau_max": 0.5}, "method_kwargs.tau_max", ">= method_kwargs.tau_min"),
        ({"period": 0}, "method_kwargs.period", "> 0 epochs"),
        ({"period": -200}, "method_kwargs.period", "> 0 epochs"),
        ({"per_step": "yes"}, "method_kwargs.per_step", "true or false"),
        ({"period": "long"}, "method_kwargs.period", "type float"),
        ({"proj_output_dim": 0}, "method_kwargs.proj_output_dim", ">= 1"),
        ({"temperature": 0.2}, "method_kwargs.temperature", "known keys"),
    ],
)
def test_bad_values_name_the_key(kwargs, key, allowed):
    with pytest.raises(ConfigError) as err:
        TsConfig.from_kwargs(kwargs)
    assert key in str(err.value) and allowed in str(err.value)


def test_first_epoch_one_is_the_official_loops_phase():
    solo, official = TsConfig.from_kwargs({}), TsConfig.from_kwargs({"first_epoch": 1})
    assert solo.epoch_temperature(0) == pytest.approx(1.0)
    assert official.epoch_temperature(0) == pytest.approx(solo.temperature(1))
    assert official.epoch_temperature(199) == pytest.approx(0.1)  # official epoch 200
    assert official.epoch_temperature(0) < solo.epoch_temperature(0)
    with pytest.raises(ConfigError, match="method_kwargs.first_epoch"):
        TsConfig.from_kwargs({"first_epoch": 2})


def test_projector_batch_norm_is_an_explicit_option_default_off():
    assert TsConfig.from_kwargs({}).proj_batch_norm is False
    assert TsConfig.from_kwargs({"proj_batch_norm": True}).proj_batch_norm is True
    with pytest.raises(ConfigError, match="method_kwargs.proj_batch_norm"):
        TsConfig.from_kwargs({"proj_batch_norm": "on"})


class _Trainer:
    def __init__(self, batches: float) -> None:
        self.num_training_batches = batches


@pytest.mark.parametrize("batches, expected", [(4, 3.5), (float("inf"), 3.0), (0, 3.0)])
def test_training_time_falls_back_to_the_epoch_without_a_loader_length(batches, expected):
    from solo_tase.methods.loop import training_time

    assert training_time(_Trainer(batches), 3, 2) == pytest.approx(expected)
