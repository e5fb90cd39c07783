"""Geometric Harmonization as a block of every plugin method, inside solo-learn's main_pretrain.py:
SimCLR+ equals solo-learn's SimCLR with the block off, the block runs on SimCLR+, SDCLR, BCL-I,
BCL-D and TASE, resumes exactly, and keeps one state on every DDP rank (with either official
loop, ``schedule: cifar`` or ``large_scale``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from solo_tase.methods.gh_block import TARGET_FILE
from tests.helpers.solo_runs import (
    DDP,
    DIGITS,
    TINY,
    checkpoint_parts,
    checkpoints,
    read_stats,
    single_run_folder,
    step_losses,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each test starts solo-learn runs

# 3 epochs: the warm-up is epoch 0, GH's weight ramps over epochs 1-2, the prior is estimated
# after every step of every epoch (prior_every 1)
GH = [
    "max_epochs=3",
    "checkpoint.keep_prev=True",
    "method_kwargs.gh.enabled=True",
    "method_kwargs.gh.warmup_epochs=1",
    "method_kwargs.gh.ramp_epochs=2",
    "method_kwargs.gh.prior_every=1",
    "method_kwargs.gh.sinkhorn_iterations=20",
]
# config file -> solo-learn method (BCL-D is sdclr with bcl: true)
CONFIGS = {
    "simclr_plus": "simclr_plus",
    "sdclr": "sdclr",
    "bcl": "bcl",
    "bcl_d": "sdclr",
    "tase": "tase",
}
EXTRA = {
    "tase": ["method_kwargs.warmup_epochs=1", "method_kwargs.tail_signal=kmeans"],
    "bcl": ["data.num_workers=0"],
    "bcl_d": ["data.num_workers=0"],
}


def test_simclr_plus_equals_solo_learns_simclr_with_the_block_off(run_solo, tmp_path: Path):
    steps = [*(o for o in TINY if "limit_train_batches" not in o), "max_epochs=2"]
    steps += ["+limit_train_batches=6", "seed=3"]
    run_solo("main_pretrain.py", DIGITS, "simclr.yaml", steps, tmp_path / "solo")
    run_solo("main_pretrain.py", DIGITS, "simclr_plus.yaml", steps, tmp_path / "plus")
    theirs, ours = step_losses(tmp_path / "solo"), step_losses(tmp_path / "plus")
    assert len(theirs) == 12 and sorted(ours) == sorted(theirs)
    assert all(ours[s] == theirs[s] for s in theirs), (ours, theirs)  # bit for bit
    a = torch.load(
        checkpoints(single_run_folder(tmp_path / "solo", "simclr"))[1], weights_only=True
    )
    b = torch.load(
        checkpoints(single_run_folder(tmp_path / "plus", "simclr_plus"))[1], weights_only=True
    )
    assert list(a["state_dict"]) == list(b["state_dict"])
    for name, tensor in a["state_dict"].items():
        assert torch.equal(b["state_dict"][name], tensor), name


@pytest.mark.parametrize("config", CONFIGS)
def test_gh_runs_on_every_method(config: str, run_solo, tmp_path: Path):
    run_solo(
        "main_pretrain.py", DIGITS, f"{config}.yaml", TINY + GH + EXTRA.get(config, []), tmp_path
    )
    folder = single_run_folder(tmp_path, CONFIGS[config])
    records = [s for s in read_stats(folder) if "gh_weight" in s or "gh_target_checksum" in s]
    start, *epochs = records
    assert start["gh_target_dim"] == 10 and len(start["gh_target_checksum"]) == 16
    assert [r["epoch"] for r in epochs] == [0, 1, 2]
    assert [r["gh_weight"] for r in epochs] == [0.0, 0.5, 1.0]
    for r in epochs:
        assert 1 <= r["gh_prior_used"] <= 10 and 0 < r["gh_prior_min"] <= r["gh_prior_max"] <= 1
    target = np.load(folder / TARGET_FILE)
    gram = target @ target.T
    assert target.shape == (10, 32) and np.allclose(np.diag(gram), 1, atol=1e-5)  # TINY: D 32
    assert np.allclose(gram[~np.eye(10, dtype=bool)], -1 / 9, atol=1e-5)
    gh_loss = step_losses(tmp_path, "gh/loss_step")
    assert sorted(gh_loss) == list(range(9))
    assert all(gh_loss[s] == 0 for s in range(3)) and all(gh_loss[s] > 0 for s in range(3, 9))
    saved = checkpoint_parts(folder, 2)
    assert saved["gh"]["logits"].shape == (503, 10) and saved["gh"]["prior_epoch"] == 2
    assert abs(float(saved["gh"]["prior"].sum()) - 1) < 1e-6


# train_imagenet_places.py's loop: the averages from epoch 0's logits on, folded at each end
LARGE_SCALE = ["method_kwargs.gh.schedule=large_scale", "method_kwargs.gh.average_start=1"]


@pytest.mark.parametrize("schedule", ["cifar", "large_scale"])
def test_gh_resumes_exactly(schedule: str, run_solo, tmp_path: Path):
    overrides = TINY + GH + (LARGE_SCALE if schedule == "large_scale" else [])
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    run_solo("main_pretrain.py", DIGITS, "simclr_plus.yaml", overrides, full)
    folder = single_run_folder(full, "simclr_plus")
    ckpt = checkpoints(folder)[1]
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "simclr_plus.yaml",
        overrides + [f"resume_from_checkpoint='{ckpt}'"],
        resumed,
    )
    a = checkpoint_parts(folder, 2)["gh"]
    b = checkpoint_parts(single_run_folder(resumed, "simclr_plus"), 2)["gh"]
    keys = ["logits", "prior", "target"]
    if schedule == "large_scale":  # written at the end of epoch 2, its table still open
        assert a["shadow_epoch"] == b["shadow_epoch"] == 2 and a["prior_epoch"] == 1
        assert a["shadow_indexes"].numel() > 0
        keys += ["shadow_indexes", "shadow_logits"]
    for key in keys:
        assert torch.equal(a[key], b[key]), key
    full_losses, resumed_losses = step_losses(full), step_losses(resumed)
    assert sorted(resumed_losses) == [6, 7, 8]
    for step, loss in resumed_losses.items():
        assert abs(loss - full_losses[step]) < 1e-5, (step, loss, full_losses[step])


@pytest.mark.parametrize("schedule", ["cifar", "large_scale"])
def test_gh_under_ddp_keeps_one_state_on_both_ranks(schedule: str, run_solo, tmp_path: Path):
    extra = ["max_epochs=2", "method_kwargs.gh.enabled=True", "method_kwargs.gh.warmup_epochs=1"]
    extra += ["method_kwargs.gh.sinkhorn_iterations=20"]
    extra += LARGE_SCALE if schedule == "large_scale" else []
    run_solo("main_pretrain.py", DIGITS, "simclr_plus.yaml", TINY + DDP + extra, tmp_path)
    folder = single_run_folder(tmp_path, "simclr_plus")
    records = [s for s in read_stats(folder) if "gh_weight" in s]
    assert [r["epoch"] for r in records] == [0, 1]
    for r in records:
        assert len(r["gh_state_checksum_by_rank"]) == 2
        assert len(set(r["gh_state_checksum_by_rank"])) == 1


@pytest.mark.parametrize(
    "override,message",
    [
        ("method_kwargs.gh.warmup_epochs=3", "gh.warmup_epochs must be < max_epochs = 3"),
        ("method_kwargs.gh.target_dim=34", "a target_dim of at most proj_output_dim + 1 = 33"),
        ("method_kwargs.gh.target_file=/nonexistent/t.npy", "gh.target_file: /nonexistent"),
    ],
)
def test_bad_gh_settings_stop_the_run_at_start(override, message, run_solo, tmp_path: Path):
    proc = run_solo(
        "main_pretrain.py",
        DIGITS,
        "simclr_plus.yaml",
        TINY
        + ["max_epochs=3", "method_kwargs.gh.enabled=True"]
        + ["method_kwargs.gh.warmup_epochs=1", override],
        tmp_path,
        check=False,
    )
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr
