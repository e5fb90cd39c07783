"""Geometric Harmonization against the official code's formulas, written out literally here
(``utils.py``: ``sinkhorn``, ``GHLoss``; ``train_cifar.py``: the logit averages, the prior and
the warm-up / ramp; ``target/gen_target.py``: the simplex ETF)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from solo_tase.losses.gh import gh_loss_func, sinkhorn, target_logits
from solo_tase.methods.config import GhSettings, SimclrConfig, TaseConfig
from solo_tase.methods.gh_block import GhBlock
from solo_tase.methods.gh_state import GhState, load_target, simplex_etf
from solo_tase.settings import ConfigError


def official_sinkhorn(out: torch.Tensor, lam: float, iterations: int, stat=None) -> torch.Tensor:
    """``utils.sinkhorn`` line by line (on the CPU)."""
    Q = torch.exp(out / lam).t()
    N = Q.shape[1]
    K = Q.shape[0]
    r = torch.ones((K, 1)) / K  # noqa: F841 (the official code sets it before the loop)
    c = torch.ones((N, 1)) / N
    if stat is None:
        inv_K = 1.0 / K
    else:
        inv_K = stat.clone().detach().reshape(K, 1).float()
        inv_K = inv_K / torch.sum(inv_K)
    inv_N = 1.0 / N
    for _ in range(iterations):
        r = inv_K / (Q @ c)
        c = inv_N / (Q.T @ r)
    Q = r * Q * c.t()
    Q = Q.t()
    Q *= N
    return Q


def official_gh_loss(x, y, stat, lam=0.05, iterations=300) -> torch.Tensor:
    """``GHLoss.loss`` line by line."""
    gamma = 0.1
    q_x = official_sinkhorn(x, lam, iterations, stat)
    q_y = official_sinkhorn(y, lam, iterations, stat)
    return -torch.mean(torch.sum(q_x * F.log_softmax(y / gamma, dim=1), dim=1)) - torch.mean(
        torch.sum(q_y * F.log_softmax(x / gamma, dim=1), dim=1)
    )


def logits(b: int, k: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(b, k, generator=g), dim=1)


@pytest.mark.parametrize("prior", ["uniform", "skewed", "with zeros"])
def test_sinkhorn_and_gh_loss_equal_the_official_functions(prior: str):
    k = 10
    stat = {
        "uniform": None,
        "skewed": torch.tensor([0.4, 0.2, 0.1, 0.1, 0.05, 0.05, 0.04, 0.03, 0.02, 0.01]),
        "with zeros": torch.tensor([0.5, 0.3, 0.2, 0, 0, 0, 0, 0, 0, 0.0]),
    }[prior]
    t1, t2 = logits(32, k, 0), logits(32, k, 1)
    ours = sinkhorn(t1, 0.05, 300, stat)
    theirs = official_sinkhorn(t1, 0.05, 300, stat)
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)
    assert torch.allclose(ours.sum(1), torch.ones(32), atol=1e-5)
    got = gh_loss_func(t1, t2, stat, epsilon=0.05, iterations=300, temperature=0.1)
    want = official_gh_loss(t1, t2, stat)
    assert abs(float(got) - float(want)) < 1e-6


def test_gh_loss_has_gradients_through_both_views_and_none_through_the_assignments():
    t1 = logits(16, 6, 2).requires_grad_(True)
    t2 = logits(16, 6, 3).requires_grad_(True)
    gh_loss_func(t1, t2, None).backward()
    assert t1.grad is not None and t2.grad is not None
    assert t1.grad.abs().sum() > 0 and t2.grad.abs().sum() > 0
    assert not sinkhorn(t1, 0.05, 3).requires_grad


def test_target_logits_are_the_normalised_projection_on_the_target():
    z, m = torch.randn(4, 8), simplex_etf(5, 8, seed=0)
    assert torch.allclose(target_logits(z, m), F.normalize(z @ m.t(), dim=1))


def test_simplex_etf_is_the_official_construction():
    from scipy import linalg

    m = simplex_etf(10, 16, seed=3)
    assert m.shape == (10, 16)
    gram = m @ m.t()
    assert torch.allclose(gram.diagonal(), torch.ones(10), atol=1e-5)
    off = gram[~torch.eye(10, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -1 / 9), atol=1e-5)
    a = np.random.default_rng(3).standard_normal((10, 16))
    u, _ = linalg.polar(a)
    want = np.sqrt(10 / 9) * (np.eye(10) - np.ones(10) / 10) @ u
    assert np.allclose(m.numpy(), want, atol=1e-6)
    assert torch.equal(simplex_etf(10, 16, seed=3), m) and not torch.equal(
        simplex_etf(10, 16, 4), m
    )
    assert simplex_etf(17, 16, seed=0).shape == (17, 16)  # K = D + 1 is the largest simplex
    with pytest.raises(
        ConfigError, match=r"gh.target_dim must be in \[2, proj_output_dim \+ 1 = 17\]"
    ):
        simplex_etf(18, 16, seed=0)


@pytest.mark.parametrize("d", [1, 2, 8, 16, 128])
def test_simplex_etf_has_unit_rows_and_equal_cosines_for_every_k_up_to_d_plus_1(d: int):
    for k in sorted(k for k in {2, 3, d // 2, d - 1, d, d + 1} if 2 <= k <= d + 1):
        for seed in (0, 1):
            m = simplex_etf(k, d, seed=seed).double()
            assert m.shape == (k, d)
            assert torch.allclose(m.norm(dim=1), torch.ones(k, dtype=torch.float64), atol=1e-6)
            cos = F.normalize(m, dim=1) @ F.normalize(m, dim=1).t()
            off = cos[~torch.eye(k, dtype=torch.bool)]
            assert torch.allclose(off, torch.full_like(off, -1 / (k - 1)), atol=1e-6), (k, d)
            assert torch.allclose(m.sum(0), torch.zeros(d, dtype=torch.float64), atol=1e-5)


def test_a_target_file_of_the_wrong_shape_is_a_named_error(tmp_path: Path):
    good = tmp_path / "t.npy"
    np.save(good, simplex_etf(4, 8, 0).numpy())
    assert load_target(good, 4, 8).shape == (4, 8)
    with pytest.raises(
        ConfigError, match=r"gh.target_file.*shape \(4, 8\).*\[5, 8\].*target_dim to 4"
    ):
        load_target(good, 5, 8)
    np.save(tmp_path / "bad.npy", np.full((4, 8), np.nan))
    with pytest.raises(ConfigError, match="non-finite"):
        load_target(tmp_path / "bad.npy", 4, 8)
    with pytest.raises(ConfigError, match="does not exist"):
        load_target(tmp_path / "missing.npy", 4, 8)


def test_settings_refuse_a_target_dim_with_no_simplex_etf():
    assert (
        SimclrConfig.from_kwargs({"proj_output_dim": 8, "gh": {"target_dim": 9}}).gh.target_dim == 9
    )
    with pytest.raises(
        ConfigError, match=r"method_kwargs.gh must be a target_dim of at most .* = 9"
    ):
        SimclrConfig.from_kwargs({"proj_output_dim": 8, "gh": {"target_dim": 10}})
    with pytest.raises(ConfigError, match="method_kwargs.gh.warmup_epochs must be an integer >= 1"):
        TaseConfig.from_kwargs({"gh": {"warmup_epochs": 0}})
    with pytest.raises(
        ConfigError,
        match=r"unknown keys \[.method_kwargs.gh.warm_up.\].*; known keys: .*warmup_epochs",
    ):
        TaseConfig.from_kwargs({"gh": {"warm_up": 5}})


def test_warm_up_longer_than_the_run_and_a_missing_k_are_named_errors():
    from omegaconf import OmegaConf

    from solo_tase.methods.gh_block import resolve_gh

    cfg = OmegaConf.create({"method": "sdclr", "max_epochs": 10, "data": {"num_classes": 7}})
    assert resolve_gh({"gh": {"enabled": True, "warmup_epochs": 5}}, cfg)["gh"]["target_dim"] == 7
    assert resolve_gh({"gh": {"enabled": False, "warmup_epochs": 50}}, cfg)["gh"] == {
        "enabled": False,
        "warmup_epochs": 50,
    }
    with pytest.raises(ConfigError, match=r"gh.warmup_epochs must be < max_epochs = 10 \(got 10\)"):
        resolve_gh({"gh": {"enabled": True, "warmup_epochs": 10}}, cfg)
    no_k = OmegaConf.create({"method": "sdclr", "max_epochs": 10, "data": {}})
    with pytest.raises(ConfigError, match="data.num_classes is not set"):
        resolve_gh({"gh": {"enabled": True, "warmup_epochs": 5}}, no_k)


def official_schedule(epoch: int, warm_up: int, gh_warm_up: int) -> float:
    """``train_cifar.py``: GH from ``epoch + 1 > warm_up``, its weight ramped over GH_warm_up."""
    if not epoch + 1 > warm_up:
        return 0.0
    if epoch + 1 <= warm_up + gh_warm_up:
        return 1 * (epoch + 1 - warm_up) / gh_warm_up
    return 1.0


def test_warm_up_and_ramp_follow_the_official_epochs():
    settings = GhSettings(enabled=True, target_dim=4, warmup_epochs=500, ramp_epochs=10)
    state = GhState(settings, simplex_etf(4, 8, 0), 3)
    for epoch in (0, 498, 499, 500, 505, 509, 510, 999):
        assert state.weight(epoch) == pytest.approx(official_schedule(epoch, 500, 10)), epoch
    assert state.beta(499) == 0.9 and state.beta(500) == 0.999
    prior_epochs = [e for e in range(1000) if state.is_prior_epoch(e)]
    assert prior_epochs[:3] == [499, 519, 539] and prior_epochs[-1] == 999


def test_logit_averages_and_prior_match_a_literal_simulation_of_the_official_loop():
    """Epochs of shuffled batches; the official loop updates ``logit_momentum`` sample by sample
    and recomputes ``pi`` after every step of a prior epoch; the GH loss of every step uses the
    ``pi`` of the step before."""
    n, k, d, batch, epochs, warm_up = 24, 5, 8, 7, 12, 4
    settings = GhSettings(
        enabled=True, target_dim=k, warmup_epochs=warm_up, ramp_epochs=2, prior_every=5
    )
    target = simplex_etf(k, d, seed=1)
    state = GhState(settings, target, n)
    logit_momentum = torch.zeros(n, k)  # the official torch.empty, here zero
    pi = None
    beta = 0.9
    g = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        if epoch >= warm_up:
            beta = 0.999
        order = torch.randperm(n, generator=g)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            z1 = torch.randn(len(index), d, generator=g)
            logit = F.normalize(z1.mm(target.t()), dim=1)
            if epoch + 1 > warm_up:  # the loss sees the prior of the step before
                assert pi is not None and torch.allclose(state.prior, pi.float())
            for count in range(len(index)):
                if epoch == 0:
                    logit_momentum[index[count]] += logit[count].clone()
                else:
                    logit_momentum[index[count]] = (
                        beta * logit_momentum[index[count]] + (1.0 - beta) * logit[count].clone()
                    )
            state.observe(index, target_logits(z1, target), epoch)
            if (epoch + 1) % 5 == 0 or epoch + 1 == warm_up:
                if epoch + 1 >= warm_up:
                    _, target_preds = torch.max(logit_momentum, 1)
                    idxs = [np.where(target_preds.numpy() == i)[0] for i in range(k)]
                    nums = np.array([len(i) for i in idxs])
                    pi = torch.tensor(nums / np.sum(nums))
        assert torch.allclose(state.logits, logit_momentum, atol=1e-6), epoch
    assert state.prior_epoch == 9 and pi is not None
    assert torch.allclose(state.prior, pi.float())


def official_large_scale_weight(epoch: int, warm_up: int, gh_warm_up: int) -> float:
    """``train_imagenet_places.py`` (simclr_GH, 1-based ``epoch``): GH from ``epoch > warm_up``,
    its weight ramped over GH_warm_up."""
    if not epoch > warm_up:
        return 0.0
    if epoch <= warm_up + gh_warm_up:
        return 1 * (epoch - warm_up) / gh_warm_up
    return 1


def large_scale_block(n: int, k: int, d: int, **gh) -> GhBlock:
    settings = GhSettings(enabled=True, target_dim=k, schedule="large_scale", **gh)
    block = GhBlock(settings, d)
    block.state = GhState(settings, block.target, n)
    return block


def test_large_scale_loop_matches_a_literal_simulation_of_the_official_script():
    """``train_imagenet_places.py`` with every sample seen once an epoch (1-based epochs; its
    ``momentum_start`` 10, period 20 and ``stat_floor`` 100 are the knobs here): the table of the
    epoch (``logit_shadow``), folded into the averages at the epoch's end, the prior estimated
    then, and each step's weighted GH loss against the ``pi`` of the epochs before."""
    n, k, d, batch, epochs = 30, 5, 8, 7, 16
    warm_up, gh_warm_up, momentum_start, period, stat_floor, iters = 6, 3, 3, 4, 2, 50
    block = large_scale_block(
        n,
        k,
        d,
        warmup_epochs=warm_up,
        ramp_epochs=gh_warm_up,
        average_start=momentum_start,
        prior_every=period,
        prior_floor=stat_floor,
        sinkhorn_iterations=iters,
    )
    state = block.state
    assert state is not None
    target_weight = block.target
    logit_momentum = torch.zeros(n, k)  # the official torch.empty, here zero
    pi = None
    beta, args_beta = 0.9, 0.999
    g = torch.Generator().manual_seed(0)
    gh_steps = 0
    for epoch in range(1, epochs + 1):
        if warm_up > 0 and epoch > warm_up:
            beta = args_beta
        logit_shadow = torch.zeros(n, k)  # the official torch.empty
        order = torch.randperm(n, generator=g)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            z1 = torch.randn(len(index), d, generator=g)
            z2 = torch.randn(len(index), d, generator=g)
            logit = F.normalize(z1.mm(target_weight.t()), dim=1)
            for count in range(len(index)):
                logit_shadow[index[count]] = logit[count].clone()
            loss, stats = block.loss(z1, z2, index, epoch - 1)
            if epoch > warm_up:
                t1 = F.normalize(z1.mm(target_weight.t()), dim=1)
                t2 = F.normalize(z2.mm(target_weight.t()), dim=1)
                assert pi is not None
                loss_gh = official_gh_loss(t1, t2, pi, iterations=iters)
                w = official_large_scale_weight(epoch, warm_up, gh_warm_up)
                assert stats["gh_weight"] == pytest.approx(w)
                assert abs(float(loss) - w * float(loss_gh)) < 1e-5, (epoch, start)
                gh_steps += 1
            else:
                assert float(loss) == 0 and stats["gh_weight"] == 0
        if epoch >= momentum_start:
            if epoch == momentum_start:
                logit_momentum = logit_shadow.clone()
            elif epoch > momentum_start:
                logit_momentum = beta * logit_momentum + (1 - beta) * logit_shadow.clone()
            if (epoch + 1) % period == 0 or epoch + 1 == warm_up:
                if epoch + 1 >= warm_up:
                    _, target_preds = torch.max(logit_momentum, 1)
                    idxsPerClass = [np.where(target_preds.numpy() == i)[0] for i in range(k)]
                    idxsNumPerClass = np.array([len(idxs) for idxs in idxsPerClass])
                    idxsNumPerClass = idxsNumPerClass + stat_floor
                    pi = torch.tensor(idxsNumPerClass / np.sum(idxsNumPerClass))
        block.end_epoch(epoch - 1)
        assert torch.allclose(state.logits, logit_momentum, atol=1e-6), epoch
        if pi is not None:
            assert torch.allclose(state.prior, pi.float()), epoch
    assert gh_steps == 50 and state.prior_epoch == 14  # official epoch 15: (15 + 1) % 4 == 0


def test_large_scale_folds_an_epoch_at_the_next_step_as_at_its_end_and_keeps_unseen_samples():
    n, k, d = 12, 4, 6
    gh = {"warmup_epochs": 3, "average_start": 1, "prior_every": 2, "prior_floor": 1}
    explicit, lazy = large_scale_block(n, k, d, **gh), large_scale_block(n, k, d, **gh)
    assert explicit.state is not None and lazy.state is not None
    g = torch.Generator().manual_seed(4)
    for epoch in range(5):
        seen = torch.randperm(n, generator=g)[: n - 3]  # 3 samples unseen in each epoch
        before = explicit.state.logits.clone()
        for index in seen.split(4):
            z1, z2 = torch.randn(len(index), d, generator=g), torch.randn(len(index), d)
            a, b = explicit.loss(z1, z2, index, epoch), lazy.loss(z1, z2, index, epoch)
            assert torch.equal(a[0], b[0]) and torch.equal(explicit.state.prior, lazy.state.prior)
        assert lazy.state.shadow_epoch == epoch and int(lazy.state.seen.sum()) == n - 3
        explicit.end_epoch(epoch)
        explicit.end_epoch(epoch)  # once only
        unseen = torch.ones(n, dtype=torch.bool)
        unseen[seen] = False
        assert torch.equal(explicit.state.logits[unseen], before[unseen])
        assert not torch.equal(explicit.state.logits[seen], before[seen])
    # official epochs E = 1..5: the prior at E + 1 == 3 and (E + 1) % 2 == 0, from the floor
    assert explicit.state.prior_epoch == 4 and lazy.state.prior_epoch == 2
    lazy.end_epoch(4)
    assert lazy.state.state_checksum() == explicit.state.state_checksum()
    assert float(explicit.state.prior.min()) >= 1 / (n + k)


def test_large_scale_prior_epochs_and_weights_are_the_official_ones_at_500_epochs():
    settings = GhSettings(
        enabled=True, target_dim=4, schedule="large_scale", warmup_epochs=400, ramp_epochs=30
    )
    state = GhState(settings, simplex_etf(4, 8, 0), 3)
    official = [  # train_imagenet_places.py: the end of epoch E = e + 1
        e
        for e in range(500)
        if e + 1 >= 10 and ((e + 2) % 20 == 0 or e + 2 == 400) and e + 2 >= 400
    ]
    assert [e for e in range(500) if state.is_prior_epoch(e)] == official
    assert official[:3] == [398, 418, 438] and official[-1] == 498
    for e in (0, 398, 399, 400, 401, 428, 429, 430, 499):
        assert state.weight(e) == pytest.approx(official_large_scale_weight(e + 1, 400, 30)), e
    assert state.beta(399) == 0.9 and state.beta(400) == 0.999


def test_large_scale_settings_refuse_a_first_prior_after_the_warm_up():
    kwargs = {"enabled": True, "schedule": "large_scale", "average_start": 10}
    assert SimclrConfig.from_kwargs({"gh": {**kwargs, "warmup_epochs": 11}}).gh.prior_floor == 100
    with pytest.raises(
        ConfigError, match=r"method_kwargs.gh.average_start must be below .*warmup_epochs"
    ):
        SimclrConfig.from_kwargs({"gh": {**kwargs, "warmup_epochs": 10}})
    with pytest.raises(ConfigError, match=r"gh.schedule must be one of 'cifar', 'large_scale'"):
        SimclrConfig.from_kwargs({"gh": {"schedule": "imagenet"}})
    assert SimclrConfig.from_kwargs({"gh": {**kwargs, "warmup_epochs": 5, "enabled": False}})


def test_large_scale_state_round_trips_with_an_open_epoch_and_refuses_another_schedule():
    n, k, d = 10, 4, 6
    gh = {"warmup_epochs": 2, "average_start": 1, "prior_every": 1}
    whole, first = large_scale_block(n, k, d, **gh), large_scale_block(n, k, d, **gh)
    g = torch.Generator().manual_seed(1)
    steps = [
        (epoch, torch.randperm(n, generator=g)[:8], torch.randn(8, d, generator=g))
        for epoch in range(4)
    ]
    losses = [float(whole.loss(z, z.flip(0), i, e)[0]) for e, i, z in steps]
    for e, i, z in steps[:2]:
        first.loss(z, z.flip(0), i, e)
    saved = first.state_dict()  # written at the end of epoch 1, its table still open
    assert saved["shadow_epoch"] == 1 and saved["shadow_indexes"].numel() == 8
    resumed = large_scale_block(n, k, d, **gh)
    resumed.load_state_dict(saved)
    assert [float(resumed.loss(z, z.flip(0), i, e)[0]) for e, i, z in steps[2:]] == losses[2:]
    assert resumed.state is not None and whole.state is not None
    assert resumed.state.state_checksum() == whole.state.state_checksum()
    cifar = GhState(GhSettings(enabled=True, target_dim=k), resumed.target, n)
    with pytest.raises(ValueError, match="schedule large_scale, this run cifar"):
        cifar.load_state_dict(saved)


def test_state_round_trips_and_refuses_another_target_or_size():
    settings = GhSettings(enabled=True, target_dim=4, warmup_epochs=1)
    state = GhState(settings, simplex_etf(4, 8, 0), 6)
    state.observe(torch.arange(3), logits(3, 4, 0), 0)
    state.estimate_prior(0)
    saved = state.state_dict()
    again = GhState(settings, simplex_etf(4, 8, 0), 6)
    again.load_state_dict(saved)
    assert torch.equal(again.logits, state.logits) and torch.equal(again.prior, state.prior)
    assert again.prior_epoch == 0 and again.checksum() == state.checksum()
    with pytest.raises(ValueError, match="GH logits for"):
        GhState(settings, simplex_etf(4, 8, 0), 7).load_state_dict(saved)
    with pytest.raises(ValueError, match="target differs"):
        GhState(settings, simplex_etf(4, 8, 1), 6).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"indexes must lie in \[0, 6\)"):
        state.observe(torch.tensor([6]), logits(1, 4, 0), 1)


WORLD, B, K = 2, 6, 5


def _sinkhorn_worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    t1, t2 = logits(WORLD * B, K, 0), logits(WORLD * B, K, 1)
    own = slice(rank * B, (rank + 1) * B)
    prior = torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0])
    a, b = t1[own].clone().requires_grad_(True), t2[own].clone().requires_grad_(True)
    loss = gh_loss_func(a, b, prior, iterations=50)
    loss.backward()
    torch.save(
        {"q": sinkhorn(t1[own], 0.05, 50, prior), "loss": loss.detach(), "grad": a.grad},
        Path(out_dir) / f"rank{rank}.pt",
    )
    dist.destroy_process_group()


@pytest.mark.slow
def test_under_ddp_the_assignments_are_those_of_the_global_batch(tmp_path: Path):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(_sinkhorn_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD)
    parts = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    t1, t2 = logits(WORLD * B, K, 0), logits(WORLD * B, K, 1)
    prior = torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0])
    whole = sinkhorn(t1, 0.05, 50, prior)
    assert torch.allclose(torch.cat([p["q"] for p in parts]), whole, atol=1e-6)
    a, b = t1.clone().requires_grad_(True), t2.clone().requires_grad_(True)
    loss = gh_loss_func(a, b, prior, iterations=50)
    loss.backward()
    # each rank's loss is the mean over its rows; DDP averages the gradients over ranks
    mean = sum(float(p["loss"]) for p in parts) / WORLD
    assert math.isclose(mean, loss.item(), abs_tol=1e-6)
    grads = torch.cat([p["grad"] for p in parts]) / WORLD
    assert torch.allclose(grads, a.grad, atol=1e-6)
