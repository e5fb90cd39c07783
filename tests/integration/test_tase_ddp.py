"""Lightning DDP on CPU (gloo, 2 processes) through solo-learn's main_pretrain.py: every rank
ends with identical tables, equal to what a single process computes from the same bank."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from solo_tase.methods.checkpoint_state import read_parts
from solo_tase.methods.config import TaseConfig
from solo_tase.methods.tase_state import TaseState
from solo_tase.tail.kmeans.backend import make_backend
from tests.integration.conftest import PRETRAIN_CONFIGS, TINY, checkpoints, read_stats, run_folder

pytestmark = pytest.mark.integration


def test_ddp_two_cpu_ranks_share_identical_tables(run_solo, tmp_path: Path):
    # On CPU Lightning wants devices as an int-like string; solo-learn then scales the lr by
    # len("2") == 1 (documented in docs/developing.md).
    run_solo(
        "main_pretrain.py",
        PRETRAIN_CONFIGS / "digits-lt",
        "tase.yaml",
        TINY
        + [
            "max_epochs=3",
            "method_kwargs.warmup_epochs=1",
            "method_kwargs.recluster_every=1",
            "checkpoint.keep_prev=True",
            "method_kwargs.kmeans_backend=torch",
            "method_kwargs.tail_signal=kmeans",
            "method_kwargs.bank_feature=crop1",  # the bank holds what the steps saw
            "strategy=ddp",
            "devices='2'",
        ],
        tmp_path,
    )
    folder = run_folder(tmp_path, "tase")
    stats = read_stats(folder)
    reclusters = [s for s in stats if s["reclustered"]]
    assert [s["epoch"] for s in reclusters] == [1, 2]
    for s in reclusters:
        assert len(s["tables_checksum_by_rank"]) == 2
        assert len(set(s["tables_checksum_by_rank"])) == 1
    # 3 steps x 32 samples x 2 ranks were observed in epoch 0: the bank holds both ranks' shards
    assert reclusters[0]["clustered"] == 192

    ckpts = checkpoints(folder)
    before = read_parts(torch.load(ckpts[1], map_location="cpu", weights_only=True))["tase"][
        "state"
    ]
    after = read_parts(torch.load(ckpts[2], map_location="cpu", weights_only=True))["tase"]["state"]
    cfg = TaseConfig.from_kwargs(
        {"num_clusters": 10, "warmup_epochs": 1, "recluster_every": 1, "tail_signal": "kmeans"},
        max_epochs=3,
    )
    single = TaseState(cfg, before["num_samples"], before["bank"]["features"].size(1))
    single.bank.load_state_dict(before["bank"])
    stat = single.recluster(make_backend("torch"), epoch=2, seed=5 + 2)  # seed = cfg.seed + epoch
    for key in ("tau", "weights", "assignments"):
        assert torch.equal(getattr(single, key), after[key]), key
    assert stat["tables_checksum"] == reclusters[1]["tables_checksum"]
