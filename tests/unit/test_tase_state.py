"""TASE's per-sample state: bank writes, re-clustering, lookups, checkpoints, faults."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from solo_tase.methods.loop import batch_indexes
from solo_tase.methods.tase_state import TaseState
from solo_tase.tail.kmeans.torch_kmeans import TorchKMeans
from tests.helpers.tase_states import tase_state


def fill(state: TaseState, sizes=(40, 15, 5), epoch: int = 0, seed: int = 0) -> torch.Tensor:
    """Write long-tailed clustered features for every sample, in shuffled batches of 7."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(8)[: len(sizes)] * 5
    labels = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    feats = centres[labels] + 0.3 * torch.randn(len(labels), 8, generator=g)
    order = torch.randperm(len(labels), generator=g)
    for s in range(0, len(order), 7):
        idx = order[s : s + 7]
        state.observe(idx, feats[idx], labels[idx], epoch)
    return labels


def test_warmup_tables_are_tau0_and_unit_weights():
    state = tase_state(tau_0=0.25)
    tau, w = state.lookup(torch.arange(60), t=0.0)
    assert torch.all(tau == 0.25) and torch.all(w == 1.0)


def test_bank_stores_normalised_features_under_their_indexes():
    state = tase_state()
    feats = torch.randn(3, 8) * 4
    state.observe(torch.tensor([5, 0, 59]), feats, torch.tensor([1, 2, 0]), epoch=2)
    assert torch.allclose(state.bank.features[5], F.normalize(feats[0], dim=0))
    assert torch.allclose(state.bank.features[59], F.normalize(feats[2], dim=0))
    assert state.bank.targets[[5, 0, 59]].tolist() == [1, 2, 0]
    assert state.bank.epoch_seen[[5, 0, 59]].tolist() == [2, 2, 2]
    assert int((state.bank.epoch_seen == -1).sum()) == 57


def test_out_of_range_indexes_are_a_clear_error():
    state = tase_state()
    with pytest.raises(IndexError, match="encode_indexes_into_labels"):
        state.observe(torch.tensor([60]), torch.randn(1, 8), None, 0)


def test_recluster_builds_tables_tail_gets_small_tau_and_large_weight():
    state = tase_state()
    labels = fill(state)
    stats = state.recluster(TorchKMeans(), epoch=1, seed=0)
    assert stats["nmi"] == pytest.approx(1.0)
    assert stats["empty_clusters"] == 0 and stats["clustered"] == 60
    assert stats["imbalance"] == pytest.approx(8.0)
    assert state.last_cluster_epoch == 1
    tau, w = state.lookup(torch.arange(60), t=1.0)
    head, tail = labels == 0, labels == 2
    assert tau[tail].mean() < tau[head].mean()
    assert w[tail].mean() > w[head].mean()
    assert w.mean() == pytest.approx(1.0, abs=1e-5)
    assert stats["tau_min"] >= 0.1 - 1e-6 and stats["tau_max"] <= 0.5 + 1e-6


def test_weights_only_and_temperature_only_ablations():
    s1 = tase_state(adaptive_temperature=False)
    fill(s1)
    s1.recluster(TorchKMeans(), 1, 0)
    assert torch.all(s1.tau == 0.2) and s1.weights.std() > 0
    s2 = tase_state(weighting="none")
    fill(s2)
    s2.recluster(TorchKMeans(), 1, 0)
    assert torch.all(s2.weights == 1.0) and s2.tau.std() > 0


def test_cosine_schedule_moves_tau_to_tau_min():
    state = tase_state(tau_schedule="cosine", tau_schedule_period=10)
    fill(state)
    state.recluster(TorchKMeans(), 1, 0)
    idx = torch.arange(60)
    tau_t0, _ = state.lookup(idx, 0.0)
    tau_end, _ = state.lookup(idx, 10.0)
    assert torch.allclose(tau_t0, state.tau) and torch.allclose(tau_end, torch.full((60,), 0.1))


def test_nonfinite_and_never_seen_rows_are_reported_and_excluded():
    state = tase_state(n=70)
    fill(state)  # rows 0..59 written; 60..69 never seen
    state.bank.features[[3, 17]] = float("nan")
    state.bank.features[25, 0] = float("inf")
    stats = state.recluster(TorchKMeans(), 1, 0)
    assert stats["nonfinite"] == 3 and stats["nonfinite_first_indexes"] == [3, 17, 25]
    assert stats["never_seen"] == 10 and stats["clustered"] == 57
    assert torch.isfinite(state.similarity).all()
    bad = torch.tensor([3, 17, 25, 60, 69])
    assert torch.all(state.assignments[bad] == -1) and torch.all(state.tau[bad] == 0.2)
    assert stats["nmi"] == pytest.approx(1.0)  # the NaN rows did not poison the centroids


def test_too_few_usable_samples_is_a_clear_error():
    state = tase_state(n=60, k=3)
    state.observe(torch.tensor([0, 1]), torch.randn(2, 8), None, 0)
    with pytest.raises(ValueError, match="usable samples"):
        state.recluster(TorchKMeans(), 1, 0)


def test_checkpoint_round_trip_is_exact_and_checks_shapes():
    state = tase_state()
    fill(state)
    state.recluster(TorchKMeans(), 1, 0)
    saved = state.state_dict()
    restored = tase_state()
    restored.load_state_dict(saved)
    for name in ("assignments", "similarity", "sizes", "tau", "weights"):
        assert torch.equal(getattr(state, name), getattr(restored, name))
    assert torch.equal(state.bank.features, restored.bank.features)
    assert restored.last_cluster_epoch == 1 and restored.checksum() == state.checksum()
    with pytest.raises(ValueError, match="N=60 samples"):
        tase_state(n=61).load_state_dict(saved)
    with pytest.raises(ValueError, match="K=3 clusters"):
        tase_state(k=4).load_state_dict(saved)
    # only tensors and plain values: loadable with weights_only=True (Lightning's default)
    import io

    buf = io.BytesIO()
    torch.save(saved, buf)
    buf.seek(0)
    assert torch.load(buf, weights_only=True)["num_samples"] == 60


def test_recluster_is_deterministic_for_a_seed():
    a, b = tase_state(), tase_state()
    fill(a)
    fill(b)
    a.recluster(TorchKMeans(), 1, seed=3)
    b.recluster(TorchKMeans(), 1, seed=3)
    assert a.checksum() == b.checksum()


def test_dali_encoded_indexes_reach_the_bank_at_the_right_rows():
    """solo-learn's PretrainWrapper with encode_indexes_into_labels=True: DALI's reader emits the
    encoded label (= file index) as an int64 [B, 1] tensor; the wrapper maps it to the class through
    an Embedding lookup table and returns [indexes, crops, targets]. Replay that path exactly."""
    file_labels = [0, 0, 1, 1, 1, 2, 2, 0, 1, 2]  # class of each file, in reader order
    conversion_map = nn.Embedding.from_pretrained(
        torch.tensor(file_labels, dtype=torch.float32).reshape(-1, 1)
    )
    encoded = torch.tensor([[7], [2], [9], [4]], dtype=torch.int64)  # DALI's "label" output
    targets = conversion_map(encoded).flatten().long()
    indexes = encoded.flatten().long()
    batch = [indexes, [torch.randn(4, 3, 8, 8)] * 2, targets]

    idx = batch_indexes(batch[0])
    assert idx.tolist() == [7, 2, 9, 4] and targets.tolist() == [0, 1, 2, 1]
    state = tase_state(n=10, k=2)
    feats = torch.randn(4, 8)
    state.observe(idx, feats, batch[2], epoch=0)
    assert torch.allclose(state.bank.features[9], F.normalize(feats[2], dim=0))
    assert state.bank.targets[[7, 2, 9, 4]].tolist() == [0, 1, 2, 1]
    # a [B, 1] index tensor (as DALI hands it over) is flattened the same way
    assert batch_indexes(encoded).tolist() == [7, 2, 9, 4]
