"""TASE's weights_as: sampling: the loader's own shuffle without weights, weighted draws after."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, RandomSampler

from solo_tase.data.weighted_sampler import WeightedEpochSampler, install_sampler


def test_without_weights_it_is_random_sampler_bit_for_bit():
    torch.manual_seed(7)
    want = [list(RandomSampler(range(50))) for _ in range(3)]
    torch.manual_seed(7)
    sampler = WeightedEpochSampler(50, seed=0)
    assert [list(sampler) for _ in range(3)] == want


def test_without_weights_under_ddp_it_is_distributed_sampler_bit_for_bit():
    data = list(range(53))
    for rank in range(4):
        ours = WeightedEpochSampler(53, seed=3, rank=rank, world_size=4)
        theirs = DistributedSampler(data, num_replicas=4, rank=rank, shuffle=True, seed=3)
        for epoch in (0, 5):
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_weighted_draws_follow_the_weights_and_ranks_share_one_draw():
    weights = torch.tensor([8.0] + [1.0] * 99)
    counts = torch.zeros(100)
    shares = []
    for rank in range(2):
        s = WeightedEpochSampler(100, seed=1, rank=rank, world_size=2)
        s.set_weights(weights)
        s.set_epoch(2)
        shares.append(list(s))
    whole = WeightedEpochSampler(100, seed=1)
    whole.set_weights(weights)
    torch.manual_seed(0)
    for _ in range(200):
        counts += torch.bincount(torch.tensor(list(whole)), minlength=100)
    per_epoch = counts / 200
    assert per_epoch[0] == pytest.approx(100 * 8 / 107, rel=0.1)  # N w_i / sum(w)
    assert per_epoch[1:].mean() == pytest.approx(100 / 107, rel=0.05)
    assert len(shares[0]) == len(shares[1]) == 50
    g = torch.Generator().manual_seed(1 + 2)
    drawn = torch.multinomial(weights.double(), 100, replacement=True, generator=g).tolist()
    assert shares[0] == drawn[0::2] and shares[1] == drawn[1::2]


def test_bad_weights_and_loaders_are_refused():
    s = WeightedEpochSampler(4, seed=0)
    for bad, match in (
        (torch.ones(3), "must be 4 finite values"),
        (torch.tensor([1.0, float("nan"), 1, 1]), "finite"),
        (torch.tensor([1.0, -1, 1, 1]), ">= 0"),
        (torch.zeros(4), "not all 0"),
    ):
        with pytest.raises(ValueError, match=match):
            s.set_weights(bad)
    with pytest.raises(ValueError, match="weights_as=sampling.*use weights_as=loss"):
        install_sampler(object(), s)
    loader = DataLoader(list(range(6)), batch_size=2, shuffle=True)
    with pytest.raises(ValueError, match="draws 6 indexes per epoch.*4"):
        install_sampler(loader, s)


def test_installed_it_drives_the_loader_with_the_same_number_of_batches():
    loader = DataLoader(list(range(10)), batch_size=4, shuffle=True, drop_last=True)
    s = WeightedEpochSampler(10, seed=0)
    install_sampler(loader, s)
    assert isinstance(loader.batch_sampler, BatchSampler) and loader.batch_sampler.sampler is s
    s.set_weights(torch.tensor([0.0] * 9 + [1.0]))
    batches = list(loader)
    assert len(batches) == 2 and all(int(x) == 9 for b in batches for x in b)
