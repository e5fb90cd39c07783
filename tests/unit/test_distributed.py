"""Two real gloo processes (CPU): the loss and the per-sample state behave as one big process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from solo_tase.losses.nt_xent import nt_xent_loss
from solo_tase.methods.config import TaseConfig
from solo_tase.methods.tase_state import TaseState
from solo_tase.tail.kmeans.torch_kmeans import TorchKMeans

pytestmark = pytest.mark.slow  # both tests read the ranks of one two-process run

WORLD = 2
B, D = 6, 5


def data():
    g = torch.Generator().manual_seed(0)
    v1, v2 = torch.randn(WORLD * B, D, generator=g), torch.randn(WORLD * B, D, generator=g)
    tau = 0.1 + torch.rand(WORLD * B, generator=g) * 0.4
    w = 0.2 + torch.rand(WORLD * B, generator=g) * 2
    return v1, v2, tau, w


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    v1, v2, tau, w = data()
    own = slice(rank * B, (rank + 1) * B)
    z = torch.cat([v1[own], v2[own]]).requires_grad_(True)
    loss = nt_xent_loss(z, tau[own].repeat(2), w[own].repeat(2))
    loss.backward()

    # per-sample state: each rank observes its own shard; banks and tables must agree
    cfg = TaseConfig.from_kwargs(
        {"num_clusters": 3, "warmup_epochs": 1, "tail_signal": "kmeans"}, max_epochs=5
    )
    state = TaseState(cfg, WORLD * B * 2, D)
    feats = torch.cat([v1, v2])
    labels = torch.arange(WORLD * B * 2) % 3
    for step in range(2):
        idx = torch.arange(step * WORLD * B + rank * B, step * WORLD * B + (rank + 1) * B)
        state.observe(idx, feats[idx] + 3 * torch.eye(D)[labels[idx]], labels[idx], epoch=0)
    stats = state.recluster(TorchKMeans(), epoch=1, seed=0)
    torch.save(
        {
            "loss": loss.detach(),
            "grad": z.grad,
            "bank": state.bank.features,
            "tau": state.tau,
            "weights": state.weights,
            "checksum": stats["tables_checksum"],
        },
        Path(out_dir) / f"rank{rank}.pt",
    )
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("ddp")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(_worker, args=(str(tmp / "init"), str(tmp)), nprocs=WORLD, join=True)
    return [torch.load(tmp / f"rank{r}.pt") for r in range(WORLD)]


def test_distributed_loss_and_gradient_equal_the_single_process_ones(ranks):
    v1, v2, tau, w = data()
    z = torch.cat([v1, v2]).requires_grad_(True)
    single = nt_xent_loss(z, tau.repeat(2), w.repeat(2))
    single.backward()
    # DDP averages the ranks' gradients: the mean of the rank losses is the global loss
    assert torch.allclose(sum(r["loss"] for r in ranks) / WORLD, single.detach(), atol=1e-6)
    for rank, r in enumerate(ranks):
        own = list(range(rank * B, (rank + 1) * B))
        rows = own + [WORLD * B + i for i in own]
        assert torch.allclose(r["grad"] / WORLD, z.grad[rows], atol=1e-6)


def test_every_rank_holds_the_whole_bank_and_identical_tables(ranks):
    a, b = ranks
    assert torch.equal(a["bank"], b["bank"])
    assert torch.equal(a["tau"], b["tau"]) and torch.equal(a["weights"], b["weights"])
    assert a["checksum"] == b["checksum"]
    # the tables equal what one process computes from the same bank
    cfg = TaseConfig.from_kwargs(
        {"num_clusters": 3, "warmup_epochs": 1, "tail_signal": "kmeans"}, max_epochs=5
    )
    single = TaseState(cfg, WORLD * B * 2, D)
    single.bank.features = a["bank"].clone()
    single.bank.epoch_seen[:] = 0
    single.recluster(TorchKMeans(), epoch=1, seed=0)
    assert torch.equal(single.tau, a["tau"]) and torch.equal(single.weights, a["weights"])
