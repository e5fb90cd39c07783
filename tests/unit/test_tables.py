"""Temperature and weight tables from a tail signal: absolute scale, weighting order, schedule."""

from __future__ import annotations

import math

import pytest
import torch

from solo_tase.tail.tables import (
    cosine_factor,
    log_freq_from_ranks,
    log_freq_from_scores,
    log_freq_from_sizes,
    profile_log_freq,
    rank01,
    sample_cluster_sizes,
    scheduled_temperature,
    temperature_table,
    weight_table,
)

TAU = {"tau_0": 0.2, "tau_min": 0.1, "tau_max": 0.5, "ref_imbalance": 100.0}


def lf(assignments: list[int], sizes: list[int]) -> torch.Tensor:
    s = torch.tensor(sizes)
    return log_freq_from_sizes(sample_cluster_sizes(torch.tensor(assignments), s), s)


def test_rank01_scales_ranks_to_unit_interval():
    r = rank01(torch.tensor([0.3, -1.0, 2.0, 0.5]))
    assert r.tolist() == pytest.approx([1 / 3, 0.0, 1.0, 2 / 3])


def test_log_frequency_of_cluster_sizes_is_relative_to_the_mean_cluster():
    out = lf([0, 0, 0, 1, -1], [30, 10, 0])  # mean over non-empty clusters = 20
    assert out[:4].tolist() == pytest.approx([math.log(1.5)] * 3 + [math.log(0.5)])
    assert math.isnan(out[4])


def test_temperature_grows_with_cluster_size_when_beta_is_zero():
    tau = temperature_table(lf([0, 1, 2], [100, 10, 1]), None, beta=0.0, **{**TAU, "tau_0": 0.3})
    assert tau[0] > tau[1] > tau[2]
    assert torch.all((tau >= 0.1) & (tau <= 0.5))


def test_absolute_scale_nearly_balanced_clusters_give_nearly_uniform_temperature():
    """A clustering with imbalance 1.2 must not get the spread of one with 100."""
    nearly = temperature_table(lf([0, 1], [12, 10]), None, beta=0.0, **TAU)
    steep = temperature_table(lf([0, 1], [100, 1]), None, beta=0.0, **TAU)
    assert float(nearly[0] - nearly[1]) == pytest.approx(
        0.4 * math.log(1.2) / math.log(100), rel=1e-5
    )
    assert float(nearly[0] - nearly[1]) < 0.02 < float(steep[0] - steep[1])
    balanced = temperature_table(lf([0, 1, 1, 0], [2, 2]), None, beta=0.0, **TAU)
    assert torch.allclose(balanced, torch.full((4,), 0.2))


def test_typicality_spreads_temperature_when_beta_is_one():
    tau = temperature_table(lf([0, 0, 0], [3]), torch.tensor([0.9, 0.1, 0.5]), beta=1.0, **TAU)
    assert tau[0] > tau[2] > tau[1] and float(tau[2]) == pytest.approx(0.2)


def test_samples_without_an_estimate_get_tau_0_and_unit_weight_before_normalisation():
    log_freq = lf([0, -1, 1], [10, 1])
    tau = temperature_table(log_freq, None, beta=0.0, **TAU)
    assert float(tau[1]) == pytest.approx(0.2)
    w = weight_table(log_freq, scheme="none")
    assert torch.allclose(w, torch.ones(3))


def test_power_weights_are_mean_size_over_own_size_to_the_gamma():
    log_freq = lf([0] * 6 + [1] * 2, [6, 2, 0])  # mean over non-empty clusters = 4
    w = weight_table(log_freq, scheme="power", gamma=1.0, w_min=1e-3, w_max=1e3)
    assert float(w[6] / w[0]) == pytest.approx(3.0, rel=1e-6)
    assert w.mean() == pytest.approx(1.0, abs=1e-6)


def test_clipping_acts_on_the_relative_weights():
    """normalise, clip, normalise: the clip bounds are relative to a mean-1 weight."""
    log_freq = lf([0] * 1000 + [1], [1000, 1])
    w = weight_table(log_freq, scheme="power", gamma=1.0, w_min=0.1, w_max=10.0)
    # raw (mean size 500.5 / own size): head 0.5005, tail 500.5; their mean is already 1, so
    # the clip keeps the head and cuts the tail to 10
    assert float(w[1000] / w[0]) == pytest.approx(10.0 / 0.5005, rel=1e-4)
    assert w.mean() == pytest.approx(1.0, abs=1e-6)


def test_effective_number_weights_really_weight():
    """With b = 0.999 every raw weight of a cluster above 10 samples is below 0.1: clipped
    before normalising they would all end at 1."""
    sizes = [400, 100, 20]
    log_freq = lf([0] * 400 + [1] * 100 + [2] * 20, sizes)
    w = weight_table(
        log_freq,
        scheme="effective",
        effective_beta=0.999,
        mean_size=sum(sizes) / 3,
        w_min=0.1,
        w_max=10.0,
    )
    raw = [(1 - 0.999) / (1 - 0.999**n) for n in sizes]
    assert float(w[500] / w[0]) == pytest.approx(raw[2] / raw[0], rel=1e-3)
    assert float(w[500]) > float(w[400]) > float(w[0])
    with pytest.raises(ValueError, match="weighting must be"):
        weight_table(log_freq, scheme="inverse")


def test_scores_are_standardised_and_scaled():
    score = torch.tensor([1.0, 2.0, 3.0, 100.0])
    valid = torch.tensor([True, True, True, False])
    out = log_freq_from_scores(score, valid, scale=2.0)
    assert out[:3].tolist() == pytest.approx([-2.0, 0.0, 2.0])
    assert math.isnan(out[3])


def test_the_profile_gives_each_rank_its_class_s_log_frequency():
    # 3 classes, ratio 4: shares 4:2:1 of 70 samples = 40, 20, 10 (mean 70 / 3)
    lf = profile_log_freq(70, 3, 4.0)
    want = [math.log(n / (70 / 3)) for n in (40, 20, 10)]
    assert lf[:40].tolist() == pytest.approx([want[0]] * 40)
    assert lf[40:60].tolist() == pytest.approx([want[1]] * 20)
    assert lf[60:].tolist() == pytest.approx([want[2]] * 10)
    assert float(lf[0] - lf[-1]) == pytest.approx(math.log(4.0))


def test_ranks_map_onto_the_profile_whatever_the_score_s_scale():
    score = torch.tensor([0.3, 0.31, 0.29, 5.0, float("nan")])
    valid = torch.tensor([True, True, True, True, False])
    out = log_freq_from_ranks(score, valid, ratio=4.0, num_classes=2)
    # 4 valid samples, shares 4:1 -> 3.2 and 0.8 samples: ranks 0-2 head, rank 3 tail
    head, tail = math.log(2 * 0.8), math.log(2 * 0.2)
    assert out[:4].tolist() == pytest.approx([head, head, tail, head])
    assert math.isnan(out[4])
    assert torch.equal(log_freq_from_ranks(score * 100, valid, 4.0, 2)[:4], out[:4])


def test_cosine_schedule_period_is_the_half_cycle():
    assert cosine_factor(0, 200) == pytest.approx(1.0)
    assert cosine_factor(100, 200) == pytest.approx(0.5)
    assert cosine_factor(200, 200) == pytest.approx(0.0)
    assert cosine_factor(400, 200) == pytest.approx(1.0)
    tau = torch.tensor([0.5, 0.3, 0.1])
    assert torch.allclose(scheduled_temperature(tau, 0.1, 0.0, 10), tau)
    assert torch.allclose(scheduled_temperature(tau, 0.1, 10.0, 10), torch.full((3,), 0.1))


def test_rare_temperature_high_reverses_the_direction():
    log_freq = torch.log(torch.tensor([10.0, 1.0, 0.1]))
    kw = dict(tau_0=0.3, tau_min=0.1, tau_max=0.5, beta=0.0, ref_imbalance=100.0)
    low = temperature_table(log_freq, None, **kw)
    high = temperature_table(log_freq, None, **kw, rare_temperature="high")
    assert low[2] < low[1] < low[0] and high[0] < high[1] < high[2]
    assert torch.allclose(high - 0.3, -(low - 0.3))  # mirrored around tau_0 (no clipping here)
    with pytest.raises(ValueError, match="rare_temperature must be 'low' or 'high'"):
        temperature_table(log_freq, None, **kw, rare_temperature="up")
