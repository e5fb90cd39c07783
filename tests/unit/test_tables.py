"""Temperature and weight tables: monotonicity, bounds, normalisation, unlabelled samples."""

from __future__ import annotations

import math

import pytest
import torch

from solo_tase.pseudo_labels.tables import (
    cosine_factor,
    rank01,
    sample_cluster_sizes,
    scheduled_temperature,
    temperature_table,
    weight_table,
)

TAU = dict(tau_min=0.1, tau_max=0.5, tau_0=0.2)


def test_rank01_scales_ranks_to_unit_interval():
    r = rank01(torch.tensor([0.3, -1.0, 0.9, 0.5]))
    assert r.tolist() == pytest.approx([1 / 3, 0.0, 1.0, 2 / 3])
    assert rank01(torch.tensor([4.0])).tolist() == [0.0]


def test_temperature_grows_with_cluster_size_when_beta_is_zero():
    sizes = torch.tensor([5, 50, 500, 5, 500])
    sim = torch.rand(5)
    tau = temperature_table(sizes, sim, beta=0.0, **TAU)
    assert tau[0] == pytest.approx(0.1) and tau[2] == pytest.approx(0.5)
    q_mid = (math.log(50) - math.log(5)) / (math.log(500) - math.log(5))
    assert tau[1] == pytest.approx(0.1 + 0.4 * q_mid)
    assert tau[3] == tau[0] and tau[4] == tau[2]


def test_temperature_grows_with_typicality_when_beta_is_one():
    sizes = torch.tensor([10, 10, 10, 10])
    sim = torch.tensor([0.9, 0.1, 0.5, 0.7])
    tau = temperature_table(sizes, sim, beta=1.0, **TAU)
    assert torch.argsort(tau).tolist() == [1, 2, 3, 0]
    assert tau.min() == pytest.approx(0.1) and tau.max() == pytest.approx(0.5)


def test_temperature_mixes_frequency_and_typicality_within_bounds():
    g = torch.Generator().manual_seed(0)
    sizes = torch.randint(1, 400, (1000,), generator=g)
    sim = torch.rand(1000, generator=g)
    tau = temperature_table(sizes, sim, beta=0.5, **TAU)
    assert float(tau.min()) >= 0.1 - 1e-7 and float(tau.max()) <= 0.5 + 1e-7
    # same typicality rank, larger cluster -> larger tau
    i, j = int(sizes.argmin()), int(sizes.argmax())
    sim2 = sim.clone()
    sim2[i], sim2[j] = 0.5, 0.5 + 1e-6
    tau2 = temperature_table(sizes, sim2, beta=0.5, **TAU)
    assert tau2[j] > tau2[i]


def test_equal_cluster_sizes_give_q_zero():
    tau = temperature_table(torch.full((4,), 7), torch.tensor([0.1, 0.2, 0.3, 0.4]), beta=0.0, **TAU)
    assert torch.allclose(tau, torch.full((4,), 0.1))


def test_unlabelled_samples_get_tau_0_and_unit_weight_before_normalisation():
    assignments = torch.tensor([0, 0, 1, -1])
    sizes = torch.tensor([2, 1])
    n_c = sample_cluster_sizes(assignments, sizes)
    assert n_c.tolist() == [2, 2, 1, 0]
    tau = temperature_table(n_c, torch.tensor([0.5, 0.6, 0.7, 0.0]), beta=0.5, **TAU)
    assert tau[3] == pytest.approx(0.2)
    w = weight_table(n_c, sizes, scheme="none")
    assert torch.allclose(w, torch.ones(4))


def test_power_weights_decrease_with_cluster_size_and_have_mean_one():
    sizes = torch.tensor([100, 10, 1])
    assignments = torch.tensor([0] * 100 + [1] * 10 + [2])
    n_c = sample_cluster_sizes(assignments, sizes)
    w = weight_table(n_c, sizes, scheme="power", gamma=0.5, w_min=0.01, w_max=100.0)
    assert w.mean() == pytest.approx(1.0, abs=1e-6)
    assert w[0] < w[100] < w[110]
    # unnormalised ratio is (n_head / n_tail)^gamma
    assert float(w[110] / w[0]) == pytest.approx((100 / 1) ** 0.5, rel=1e-5)
    flat = weight_table(n_c, sizes, scheme="power", gamma=0.0)
    assert torch.allclose(flat, torch.ones(111))


def test_power_weights_use_the_mean_of_non_empty_clusters():
    sizes = torch.tensor([6, 2, 0])  # mean over non-empty clusters = 4
    n_c = sample_cluster_sizes(torch.tensor([0] * 6 + [1] * 2), sizes)
    w_raw = weight_table(n_c, sizes, scheme="power", gamma=1.0, w_min=1e-3, w_max=1e3)
    assert float(w_raw[6] / w_raw[0]) == pytest.approx(3.0, rel=1e-6)


def test_clipping_happens_before_normalisation():
    sizes = torch.tensor([1000, 1])
    n_c = sample_cluster_sizes(torch.tensor([0] * 1000 + [1]), sizes)
    w = weight_table(n_c, sizes, scheme="power", gamma=1.0, w_min=0.6, w_max=2.0)
    # raw: head 500.5/1000 -> clipped to 0.6, tail 500.5 -> clipped to 2.0
    assert float(w[1000] / w[0]) == pytest.approx(2.0 / 0.6, rel=1e-6)
    assert w.mean() == pytest.approx(1.0, abs=1e-6)


def test_effective_number_weights():
    sizes = torch.tensor([50, 5])
    n_c = sample_cluster_sizes(torch.tensor([0] * 50 + [1] * 5), sizes)
    b = 0.9
    w = weight_table(n_c, sizes, scheme="effective", effective_beta=b, w_min=1e-3, w_max=1e3)
    raw_head, raw_tail = (1 - b) / (1 - b ** 50), (1 - b) / (1 - b ** 5)
    assert float(w[50] / w[0]) == pytest.approx(raw_tail / raw_head, rel=1e-5)
    with pytest.raises(ValueError, match="weighting must be"):
        weight_table(n_c, sizes, scheme="inverse")


def test_cosine_schedule_period_is_the_half_cycle():
    assert cosine_factor(0, 200) == pytest.approx(1.0)
    assert cosine_factor(100, 200) == pytest.approx(0.5)
    assert cosine_factor(200, 200) == pytest.approx(0.0)
    assert cosine_factor(400, 200) == pytest.approx(1.0)
    tau = torch.tensor([0.5, 0.3, 0.1])
    assert torch.allclose(scheduled_temperature(tau, 0.1, 0.0, 10), tau)
    assert torch.allclose(scheduled_temperature(tau, 0.1, 10.0, 10), torch.full((3,), 0.1))
