"""BCL's momentum losses against hand computations, their normalisation, resume and DDP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from solo_tase.losses.nt_xent import nt_xent_loss, nt_xent_per_anchor
from solo_tase.methods.checkpoint_state import load_parts
from solo_tase.tail.momentum_loss import MomentumLoss


def official_weight(momentum_row: torch.Tensor) -> torch.Tensor:
    """The official ``calculate_momentum_weight`` on one epoch's row of momentum losses."""
    w = (momentum_row - torch.mean(momentum_row)) / torch.std(momentum_row)
    return (w / torch.max(torch.abs(w))) / 2 + 1 / 2


def test_first_epoch_takes_the_loss_then_the_momentum_rule_by_hand():
    m = MomentumLoss(4, beta=0.9)
    m.observe(torch.tensor([0, 2]), torch.tensor([2.0, 4.0]))
    m.observe(torch.tensor([1]), torch.tensor([1.0]))
    m.end_epoch(0)
    assert torch.allclose(m.values, torch.tensor([2.0, 1.0, 4.0, 0.0]))
    assert m.seen.tolist() == [True, True, True, False]
    m.observe(torch.tensor([0, 3]), torch.tensor([1.0, 5.0]))
    m.end_epoch(1)
    # sample 0: 0.1 * 1 + 0.9 * 2 = 1.9; sample 3 first seen: 5; 1 and 2 unseen: unchanged
    assert torch.allclose(m.values, torch.tensor([1.9, 1.0, 4.0, 5.0]))
    m.observe(torch.tensor([0]), torch.tensor([3.0]))
    m.end_epoch(2)
    assert torch.allclose(m.values[0], torch.tensor(0.1 * 3.0 + 0.9 * 1.9))


def test_repeated_observations_in_an_epoch_are_averaged():
    m = MomentumLoss(2, beta=0.5)
    m.observe(torch.tensor([1, 1]), torch.tensor([1.0, 3.0]))
    m.end_epoch(0)
    assert m.values.tolist() == [0.0, 2.0]


def test_matches_the_official_per_step_loop_when_every_sample_is_seen():
    g = torch.Generator().manual_seed(0)
    n, beta = 10, 0.97
    ours = MomentumLoss(n, beta)
    shadow = torch.zeros(n)
    for epoch in range(1, 5):  # the official loop counts epochs from 1
        order = torch.randperm(n, generator=g)
        loss = torch.rand(n, generator=g) * 5
        for i in order.tolist():
            shadow[i] = (1 - beta) * loss[i] + beta * shadow[i] if epoch > 1 else loss[i]
        ours.observe(order, loss[order])
        ours.end_epoch(epoch - 1)
        assert torch.allclose(ours.values, shadow)
        assert torch.allclose(ours.normalised(), official_weight(shadow), atol=1e-6)


def test_normalised_is_in_unit_interval_with_extremes_and_zero_for_unseen():
    m = MomentumLoss(5, beta=0.5)
    m.observe(torch.tensor([0, 1, 2, 3]), torch.tensor([1.0, 2.0, 3.0, 10.0]))
    m.end_epoch(0)
    w = m.normalised()
    assert w[4] == 0 and w[:4].min() >= 0 and w[:4].max() <= 1
    assert w[3] == 1.0  # the largest |z| maps to 0 or 1
    assert torch.argsort(w[:4]).tolist() == [0, 1, 2, 3]  # monotone in the momentum loss


def test_normalised_with_equal_losses_is_one_half():
    m = MomentumLoss(3, beta=0.5)
    m.observe(torch.tensor([0, 1]), torch.tensor([2.0, 2.0]))
    m.end_epoch(0)
    assert m.normalised().tolist() == [0.5, 0.5, 0.0]


def test_state_dict_round_trip_keeps_the_pending_epoch():
    m = MomentumLoss(4, beta=0.8)
    m.observe(torch.tensor([0, 1, 2]), torch.tensor([1.0, 2.0, 3.0]))
    m.end_epoch(0)
    m.observe(torch.tensor([0, 3]), torch.tensor([5.0, 6.0]))  # epoch 1 pending
    state = m.state_dict()
    path_state = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in state.items()}
    r = MomentumLoss(4, beta=0.8)
    r.load_state_dict(path_state)
    assert r.pending and r.last_epoch == 0
    m.end_epoch(1)
    r.end_epoch(1)
    assert torch.equal(m.values, r.values) and torch.equal(m.seen, r.seen)
    assert torch.equal(m.normalised(), r.normalised())


def test_state_dict_loads_with_weights_only(tmp_path):
    m = MomentumLoss(3, beta=0.9)
    m.observe(torch.tensor([2]), torch.tensor([1.5]))
    torch.save(m.state_dict(), tmp_path / "s.pt")
    r = MomentumLoss(3, beta=0.9)
    r.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    r.end_epoch(0)
    assert r.values.tolist() == [0.0, 0.0, 1.5]


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="beta"):
        MomentumLoss(3, beta=1.0)
    m = MomentumLoss(3, beta=0.5)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        m.observe(torch.tensor([3]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"\[B\]"):
        m.observe(torch.tensor([0, 1]), torch.tensor([1.0]))
    m.end_epoch(0)
    with pytest.raises(ValueError, match="epochs must increase"):
        m.end_epoch(0)
    with pytest.raises(ValueError, match="same data"):
        MomentumLoss(4, beta=0.5).load_state_dict(m.state_dict())


def test_per_anchor_losses_match_the_literal_formula_and_average_to_the_loss():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(8, 5, generator=g, dtype=torch.float64)
    tau = 0.1 + torch.rand(8, generator=g, dtype=torch.float64)
    zn = F.normalize(z, dim=1)
    want = []
    for a in range(8):
        sims = zn[a] @ zn.T / tau[a]
        denom = sum(torch.exp(sims[j]) for j in range(8) if j != a)
        want.append(-torch.log(torch.exp(sims[(a + 4) % 8]) / denom))
    got = nt_xent_per_anchor(z.float(), tau.float())
    assert got.shape == (8,)
    assert torch.allclose(got.double(), torch.stack(want), atol=1e-5)
    assert torch.allclose(got.mean(), nt_xent_loss(z.float(), tau.float()), atol=1e-6)


WORLD, B = 2, 3


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    m = MomentumLoss(WORLD * B, beta=0.5)
    own = torch.arange(rank * B, (rank + 1) * B)
    m.observe(own, own.float() + 1)  # each rank sees only its shard
    m.end_epoch(0)
    torch.save(m.state_dict(), Path(out_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.slow
def test_every_rank_holds_every_ranks_losses(tmp_path):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    for r in range(WORLD):
        state = torch.load(tmp_path / f"rank{r}.pt", weights_only=True)
        assert state["values"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        assert bool(state["seen"].all())


class _Sized:
    """A training set of ``n`` samples that carries a strength table."""

    def __init__(self, n: int) -> None:
        from solo_tase.data.boosted import StrengthTable

        self.n, self.bcl_strength = n, StrengthTable(n)

    def __len__(self) -> int:
        return self.n


class _Module:
    """What BoostedMemorisation reads from a LightningModule: trainer (loader), device, epoch."""

    def __init__(self, n: int) -> None:
        from types import SimpleNamespace

        loader = SimpleNamespace(dataset=_Sized(n))
        self.trainer = SimpleNamespace(
            train_dataloader=loader,
            callbacks=[],
            current_epoch=0,
            is_global_zero=True,
            num_training_batches=1,
        )
        self.device = torch.device("cpu")
        self.current_epoch = 0
        self.logged: list[dict] = []

    @property
    def table(self):
        return self.trainer.train_dataloader.dataset.bcl_strength

    def log_dict(self, values: dict, **_: object) -> None:
        self.logged.append(values)

    def at_epoch(self, epoch: int) -> _Module:
        self.current_epoch = self.trainer.current_epoch = epoch
        return self


def _boosted():
    from solo_tase.methods.boosted import BoostedMemorisation
    from solo_tase.methods.config import BoostSettings

    return BoostedMemorisation(BoostSettings(0.5, 1, 30.0), "bcl")


def _epoch(boost, module, epoch: int, seed: int) -> None:
    """One step of 4 samples (indexes shifted by one every other epoch)."""
    g = torch.Generator().manual_seed(seed)
    module.at_epoch(epoch)
    boost.loss(torch.randn(8, 5, generator=g), 0.2, torch.arange(4) + seed % 2, epoch)


def test_boost_loss_is_the_mean_nt_xent_and_the_table_follows_the_momentum_losses():
    module, boost = _Module(6), _boosted()
    boost.start(module)
    assert torch.equal(module.table.values, torch.zeros(6))
    z = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    loss = boost.loss(z, 0.2, torch.arange(4), 0)
    assert torch.allclose(loss, nt_xent_loss(z, 0.2), atol=1e-6)
    per_anchor = nt_xent_per_anchor(z, 0.2)
    stats = boost.end_epoch(module)
    assert torch.allclose(boost.momentum.values[:4], (per_anchor[:4] + per_anchor[4:]) / 2)
    assert torch.equal(module.table.values, boost.momentum.normalised())
    assert stats["bcl_seen"] == 4 and module.logged[-1]["bcl/seen"] == 4


def test_resume_from_an_epoch_end_checkpoint_applies_the_pending_epoch():
    """solo-learn saves before the method's epoch-end hook: the checkpoint holds epoch 1's losses
    unapplied but complete; the resumed run starts with the table of the end of epoch 1 and ends
    epoch 2 with the same table as the uninterrupted run."""
    module, boost = _Module(6), _boosted()
    boost.start(module)
    _epoch(boost, module, 0, 0)
    boost.end_epoch(module)
    _epoch(boost, module, 1, 1)
    checkpoint = boost.state_dict(module)  # Checkpointer, before end_epoch
    boost.end_epoch(module)
    after_epoch_1 = module.table.values.clone()
    _epoch(boost, module, 2, 2)
    boost.end_epoch(module)

    resumed_module, resumed = _Module(6).at_epoch(2), _boosted()
    resumed.load_state_dict(checkpoint)
    resumed.start(resumed_module)
    assert torch.equal(resumed_module.table.values, after_epoch_1)
    _epoch(resumed, resumed_module, 2, 2)
    resumed.end_epoch(resumed_module)
    assert torch.allclose(resumed.momentum.values, boost.momentum.values)
    assert torch.allclose(resumed_module.table.values, module.table.values)
    with pytest.raises(ValueError, match="no bcl state"):
        load_parts({}, "bcl", required=("bcl",))


def test_resume_from_a_mid_epoch_checkpoint_keeps_accumulating_the_epoch():
    module, boost = _Module(6), _boosted()
    module.trainer.num_training_batches = 2
    boost.start(module)
    _epoch(boost, module, 0, 0)
    checkpoint = boost.state_dict(module)  # after 1 of 2 steps
    assert checkpoint["epoch_complete"] is False
    _epoch(boost, module, 0, 1)
    boost.end_epoch(module)

    resumed_module, resumed = _Module(6), _boosted()
    resumed_module.trainer.num_training_batches = 2
    resumed.load_state_dict(checkpoint)
    resumed.start(resumed_module)
    assert torch.equal(resumed_module.table.values, torch.zeros(6))  # epoch 0 not over
    _epoch(resumed, resumed_module, 0, 1)
    resumed.end_epoch(resumed_module)
    assert torch.allclose(resumed.momentum.values, boost.momentum.values)
    assert torch.allclose(resumed_module.table.values, module.table.values)


def test_epoch_lifecycle_folds_once_an_epoch_is_over_and_reads_earlier_states():
    from solo_tase.tail.momentum_loss import EpochMomentumLoss

    m = EpochMomentumLoss(4, beta=0.5)
    m.observe(torch.tensor([0, 1]), torch.tensor([2.0, 4.0]), epoch=0)
    assert not m.fold_before(0) and not bool(m.seen.any())  # epoch 0 not over
    m.observe(torch.tensor([2]), torch.tensor([6.0]), epoch=0)
    complete = m.state_dict(steps_per_epoch=2)
    assert complete["epoch_complete"] and not m.state_dict(steps_per_epoch=3)["epoch_complete"]
    m.observe(torch.tensor([0]), torch.tensor([0.0]), epoch=1)  # a new epoch folds the last
    assert m.values[:3].tolist() == [2.0, 4.0, 6.0]
    resumed = EpochMomentumLoss(4, beta=0.5)
    resumed.load_state_dict(complete)  # complete: folded at once
    assert resumed.values[:3].tolist() == [2.0, 4.0, 6.0] and not resumed.momentum.pending
    # an earlier TASE checkpoint holds a bare MomentumLoss state: its pending losses are the
    # epoch after the last folded one, folded at the next epoch's start
    bare = MomentumLoss(4, beta=0.5)
    bare.observe(torch.tensor([3]), torch.tensor([1.0]))
    old = EpochMomentumLoss(4, beta=0.5)
    old.load_state_dict(bare.state_dict())
    assert old.pending_epoch == 0 and not bool(old.seen.any())
    assert old.fold_before(1) and old.values[3] == 1.0
