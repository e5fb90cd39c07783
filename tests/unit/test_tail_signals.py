"""Tail signals and their diagnostics: every option orders a long-tailed bank correctly."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from solo_tase.methods.config import TaseConfig
from solo_tase.methods.tase_state import TaseState
from solo_tase.settings import ConfigError
from solo_tase.tail.diagnostics import NOT_COMPUTED, tail_diagnostics
from solo_tase.tail.kmeans.torch_kmeans import TorchKMeans
from solo_tase.tail.signals import UnlabelledError, degrade, from_labels, knn_density, whiten
from tests.helpers.tase_states import tase_state

SIZES = (60, 20, 6)
N = sum(SIZES)


def long_tailed(seed: int = 0, spread: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.full((n,), i) for i, n in enumerate(SIZES)])
    feats = torch.eye(8)[labels] * 5 + spread * torch.randn(len(labels), 8, generator=g)
    return feats, labels


def fill(state: TaseState, epoch: int = 0) -> torch.Tensor:
    feats, labels = long_tailed()
    state.observe(torch.arange(len(labels)), feats, labels, epoch)
    return labels


def test_knn_density_in_chunks_equals_the_dense_computation():
    x = F.normalize(torch.randn(50, 6, generator=torch.Generator().manual_seed(1)), dim=1)
    sim = x @ x.T
    sim.fill_diagonal_(-float("inf"))
    dense = sim.topk(5, dim=1).values.mean(1)
    assert torch.allclose(knn_density(x, 5, chunk_mb=0), dense, atol=1e-6)  # 1 row per chunk
    assert torch.allclose(knn_density(x, 5), dense, atol=1e-6)


@pytest.mark.parametrize(
    "kw, min_rho",
    [
        ({"tail_signal": "kmeans"}, 0.99),
        # fine clusters split the head blob: sizes flatten (k-means' uniform effect), order stays
        ({"tail_signal": "overcluster", "overcluster_factor": 2}, 0.2),
        (
            {"tail_signal": "overcluster", "overcluster_factor": 2, "overcluster_sizes": "merged"},
            0.99,
        ),
        # same spread in every blob: only the number of close neighbours differs
        ({"tail_signal": "knn_density", "knn_k": 5}, 0.4),
    ],
)
def test_every_bank_signal_sees_the_imbalance(kw, min_rho):
    state = tase_state(N, **kw)
    labels = fill(state)
    stats = state.recluster(TorchKMeans(), epoch=1, seed=0)
    assert stats["rho"] > min_rho, stats
    assert stats["true_imbalance"] == pytest.approx(10.0)
    assert stats["tail_signal"] == kw["tail_signal"]
    head, tail = labels == 0, labels == 2
    assert state.log_freq[tail].mean() < state.log_freq[head].mean()
    assert state.weights[tail].mean() > state.weights[head].mean()
    assert stats["w_few"] > stats["w_many"] and stats["tau_few"] <= stats["tau_many"]


def test_kmeans_recovers_the_true_imbalance_on_separated_clusters():
    state = tase_state(N)
    fill(state)
    stats = state.recluster(TorchKMeans(), epoch=1, seed=0)
    assert stats["recovered_imbalance"] == pytest.approx(10.0, rel=1e-5)
    assert stats["rho"] == pytest.approx(1.0)


def test_memorisation_signal_takes_late_learned_samples_for_rare():
    state = tase_state(N, tail_signal="memorisation", memorisation_beta=0.5)
    labels = fill(state)
    idx = torch.arange(len(labels))
    # the tail keeps a high loss, the head learns fast
    for epoch, (head_loss, tail_loss) in enumerate([(4.0, 4.0), (1.0, 3.5)]):
        losses = torch.where(
            labels == 0, head_loss, torch.where(labels == 1, 4.0 - 2.0 * epoch, tail_loss)
        )
        state.observe_losses(idx, losses, epoch)
        state.end_epoch(epoch)
    stats = state.recluster(TorchKMeans(), epoch=2, seed=0)
    assert stats["rho"] > 0.8
    assert state.momentum is not None
    assert float(state.momentum.values[0]) == pytest.approx(0.5 * 1.0 + 0.5 * 4.0)
    assert state.weights[labels == 2].mean() > state.weights[labels == 0].mean()


def test_memorisation_state_resumes_exactly():
    state = tase_state(N, tail_signal="memorisation")
    fill(state)
    state.observe_losses(torch.arange(5), torch.arange(5).float(), 0)
    saved = state.state_dict()
    restored = tase_state(N, tail_signal="memorisation")
    restored.load_state_dict(saved)
    state.end_epoch(0)
    restored.end_epoch(0)
    assert restored.momentum is not None and state.momentum is not None
    assert torch.equal(restored.momentum.values, state.momentum.values)
    with pytest.raises(ValueError, match="tail_signal='memorisation'"):
        tase_state(N, tail_signal="kmeans").load_state_dict(saved)


def test_bank_feature_mean_averages_the_normalised_crops():
    state = tase_state(N, bank_feature="mean")
    a, b = torch.randn(2, 8), torch.randn(2, 8)
    state.observe(torch.tensor([0, 1]), [a, b], None, 0)
    expected = F.normalize((F.normalize(a, dim=1) + F.normalize(b, dim=1)) / 2, dim=1)
    assert torch.allclose(state.bank.features[:2], expected, atol=1e-6)
    first = tase_state(N)
    first.observe(torch.tensor([0, 1]), [a, b], None, 0)
    assert torch.allclose(first.bank.features[:2], F.normalize(a, dim=1), atol=1e-6)


def test_unlabelled_data_keeps_working_and_says_diagnostics_were_not_computed():
    state = tase_state(N)
    feats, _ = long_tailed()
    state.observe(torch.arange(len(feats)), feats, None, 0)
    stats = state.recluster(TorchKMeans(), epoch=1, seed=0)
    assert stats["diagnostics"] == NOT_COMPUTED and "rho" not in stats
    assert state.weights.std() > 0


def test_diagnostics_group_means_and_a_backwards_signal():
    targets = torch.tensor([0] * 6 + [1] * 3 + [2])
    backwards = -torch.log(torch.tensor([6.0] * 6 + [3.0] * 3 + [1.0]))
    d = tail_diagnostics(backwards, targets, torch.linspace(0.1, 0.5, 10), torch.ones(10))
    assert d["rho"] == pytest.approx(-1.0)
    assert d["recovered_imbalance"] == pytest.approx(1 / 6)
    assert d["tau_few"] == pytest.approx(0.5)


def test_version_1_checkpoints_still_load():
    state = tase_state(N)
    fill(state)
    state.recluster(TorchKMeans(), epoch=1, seed=0)
    old = {k: v for k, v in state.state_dict().items() if k not in ("log_freq", "tail_signal")}
    old["version"] = 1
    restored = tase_state(N)
    restored.load_state_dict(old)
    assert torch.allclose(restored.log_freq, state.log_freq, equal_nan=True)
    assert restored.checksum() == state.checksum()


def test_the_oracle_is_the_true_class_count_on_the_kmeans_scale():
    state = tase_state(N, tail_signal="oracle")
    labels = fill(state)
    stats = state.recluster(TorchKMeans(), epoch=1, seed=0)
    mean = sum(SIZES) / len(SIZES)
    want = torch.log(torch.tensor([SIZES[int(c)] / mean for c in labels]))
    assert torch.allclose(state.log_freq, want, atol=1e-6)
    assert stats["rho"] == pytest.approx(1.0) and stats["recovered_imbalance"] == pytest.approx(10)
    assert state.tau[labels == 2].max() < state.tau[labels == 0].min()
    assert state.weights[labels == 2].min() > state.weights[labels == 0].max()


def test_a_degraded_oracle_carries_the_stated_imbalance_and_loses_rank_with_noise():
    labels = torch.cat([torch.full((n,), i) for i, n in enumerate((200, 60, 20, 6, 2))])
    oracle = from_labels(labels, torch.ones(len(labels), dtype=torch.bool))
    squeezed = degrade(oracle, noise=0.0, imbalance=5.0, seed=0)
    lf = squeezed.log_freq
    assert float(lf.max() - lf.min()) == pytest.approx(float(torch.log(torch.tensor(5.0))))
    assert tail_diagnostics(lf, labels, lf, lf)["recovered_imbalance"] == pytest.approx(5.0)
    rhos = [
        tail_diagnostics(degrade(oracle, noise=s, imbalance=None, seed=3).log_freq, labels, lf, lf)[
            "rho"
        ]
        for s in (0.0, 0.5, 2.0, 8.0)
    ]
    assert rhos[0] == pytest.approx(1.0) and rhos == sorted(rhos, reverse=True)
    assert rhos[-1] < 0.5
    again = degrade(oracle, noise=2.0, imbalance=None, seed=3).log_freq
    assert torch.equal(again, degrade(oracle, noise=2.0, imbalance=None, seed=3).log_freq)
    assert not torch.equal(again, degrade(oracle, noise=2.0, imbalance=None, seed=4).log_freq)


def test_a_stated_profile_gives_knn_density_the_stated_range_and_keeps_its_order():
    state = tase_state(N, tail_signal="knn_density", knn_k=5, score_profile_ratio=10.0)
    fill(state)
    state.recluster(TorchKMeans(), epoch=1, seed=0)
    mapped = state.log_freq
    assert float(mapped.max() - mapped.min()) == pytest.approx(math.log(10.0), rel=1e-6)
    plain = tase_state(N, tail_signal="knn_density", knn_k=5)
    fill(plain)
    plain.recluster(TorchKMeans(), epoch=1, seed=0)
    by_density = mapped[torch.argsort(plain.log_freq, stable=True)]
    assert bool((by_density[1:] >= by_density[:-1]).all())  # the density's order, kept
    with pytest.raises(ConfigError, match="score_profile_ratio must be null unless"):
        TaseConfig.from_kwargs({"tail_signal": "kmeans", "score_profile_ratio": 10.0})


def test_the_degraded_oracle_reaches_the_tables_and_is_refused_for_other_signals():
    state = tase_state(N, tail_signal="oracle", oracle_imbalance=2.0)
    fill(state)
    stats = state.recluster(TorchKMeans(), epoch=1, seed=0)
    assert stats["recovered_imbalance"] == pytest.approx(2.0)
    assert stats["oracle_imbalance"] == 2.0 and stats["oracle_noise"] == 0.0
    with pytest.raises(ConfigError, match="tail_signal must be oracle when.*oracle_noise"):
        TaseConfig.from_kwargs({"oracle_noise": 1.0})


def test_the_oracle_counts_seen_samples_and_refuses_unlabelled_ones():
    targets = torch.tensor([0, 0, 0, 1, -1])
    seen = torch.tensor([True, True, True, True, False])
    est = from_labels(targets, seen)
    assert torch.isnan(est.log_freq[4])
    assert est.log_freq[0] == pytest.approx(float(torch.log(torch.tensor(3 / 2))))
    with pytest.raises(
        UnlabelledError, match="tail_signal=oracle.*1 sample.*first indexes \\[4\\]"
    ):
        from_labels(targets, torch.ones(5, dtype=torch.bool))
    state = tase_state(N, tail_signal="oracle")
    feats, _ = long_tailed()
    state.observe(torch.arange(len(feats)), feats, None, 0)
    with pytest.raises(UnlabelledError, match="measurement device for labelled data"):
        state.recluster(TorchKMeans(), epoch=1, seed=0)


def test_whitening_gives_unit_variance_in_every_direction_it_keeps():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 4, generator=g) * torch.tensor([10.0, 1.0, 0.3, 0.1])
    x = torch.cat([x, x[:, :1]], dim=1)  # a repeated column: a direction without variance
    z = whiten(x)
    assert z.shape == (400, 4)
    cov = z.T.double() @ z.double() / 399
    assert torch.allclose(cov, torch.eye(4, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=1e-4)


def rare_class_beside_a_head(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """300 head samples spread over 5 shared directions; 10 rare ones as close to the head's
    centre as the head's own spread, offset along a sixth direction only they use."""
    g = torch.Generator().manual_seed(seed)
    head = torch.zeros(300, 8)
    head[:, 0] = 1.0
    head[:, 1:6] = 0.3 * torch.randn(300, 5, generator=g)
    rare = torch.zeros(10, 8)
    rare[:, 0] = 1.0
    rare[:, 6] = 0.3
    rare[:, 1:6] = 0.05 * torch.randn(10, 5, generator=g)
    return torch.cat([head, rare]), torch.cat([torch.zeros(300), torch.ones(10)]).long()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_whitened_density_finds_a_rare_class_the_cosine_density_takes_for_frequent(seed):
    feats, labels = rare_class_beside_a_head(seed)
    means = {}
    for space in ("cosine", "whitened"):
        state = tase_state(len(labels), tail_signal="knn_density", knn_k=50, knn_space=space)
        state.observe(torch.arange(len(labels)), feats, labels, 0)
        state.recluster(TorchKMeans(), epoch=1, seed=0)
        means[space] = [float(state.log_freq[labels == c].mean()) for c in (0, 1)]
    head, rare = means["cosine"]
    assert rare > head  # compact and central: the cosine density calls the rare class frequent
    head, rare = means["whitened"]
    assert rare < head - 1.0  # its own direction, widened to unit variance, sets it apart


def test_knn_space_is_refused_for_signals_without_neighbours():
    with pytest.raises(ConfigError, match="knn_space must be cosine unless"):
        TaseConfig.from_kwargs({"tail_signal": "kmeans", "knn_space": "whitened"})
