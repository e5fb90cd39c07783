"""Lightning DDP on CPU (gloo, 2 processes) through solo-learn's main_pretrain.py: every rank
ends with identical tables, equal to what a single process computes from the same bank."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from solo_tase.methods.config import TaseConfig
from solo_tase.methods.tase_state import TaseState
from solo_tase.tail.kmeans.backend import make_backend
from tests.helpers.solo_runs import (
    DDP,
    DIGITS,
    TASE_RUN,
    checkpoint_parts,
    read_stats,
    single_run_folder,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each test starts solo-learn runs


def test_ddp_two_cpu_ranks_share_identical_tables(run_solo, tmp_path: Path):
    crop1 = "method_kwargs.bank_feature=crop1"  # the bank holds what the steps saw
    run_solo("main_pretrain.py", DIGITS, "tase.yaml", [*TASE_RUN, crop1, *DDP], tmp_path)
    folder = single_run_folder(tmp_path, "tase")
    stats = read_stats(folder)
    reclusters = [s for s in stats if s["reclustered"]]
    assert [s["epoch"] for s in reclusters] == [1, 2]
    for s in reclusters:
        assert len(s["tables_checksum_by_rank"]) == 2
        assert len(set(s["tables_checksum_by_rank"])) == 1
    # 3 steps x 32 samples x 2 ranks were observed in epoch 0: the bank holds both ranks' shards
    assert reclusters[0]["clustered"] == 192

    before = checkpoint_parts(folder, 1)["tase"]["state"]
    after = checkpoint_parts(folder, 2)["tase"]["state"]
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
