"""BCL-I (``bcl``) and BCL-D (``sdclr`` with ``bcl: true``) through solo-learn's real
main_pretrain.py on Digits-LT (CPU): the boost in solo-learn's data path, momentum losses per
epoch, exact resume, 2-process DDP, and the errors at start."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tests.helpers.solo_runs import (
    DDP,
    DIGITS,
    DIGITS_GH,
    TINY,
    batch,
    checkpoint_parts,
    checkpoints,
    read_stats,
    single_run_folder,
    step_losses,
)

pytestmark = pytest.mark.integration

# one loader worker: the boost weights must reach a worker process
BCL_RUN = TINY + ["max_epochs=3", "checkpoint.keep_prev=True", "data.num_workers=1"]
SEEN_PER_EPOCH = 3 * 32  # limit_train_batches=3 at batch 32


def test_solo_learns_own_dataset_path_gets_the_boost(digits_root: Path):
    """The installed factory reaches solo-learn's prepare_datasets and its real view pipelines."""
    from omegaconf import OmegaConf
    from solo.data.pretrain_dataloader import (
        FullTransformPipeline,
        NCropAugmentation,
        build_transform_pipeline,
        prepare_datasets,
    )

    from solo_tase.data.boosted import BoostedRandAugment
    from solo_tase.data.boosted.dataset import TABLE_ATTRIBUTE
    from solo_tase.methods.boosted import install_boosted_augment

    aug = OmegaConf.create(
        {
            "crop_size": 32,
            "rrc": {"enabled": True, "crop_min_scale": 0.2, "crop_max_scale": 1.0},
            "color_jitter": {
                "prob": 0.8,
                "brightness": 0.4,
                "contrast": 0.4,
                "saturation": 0.4,
                "hue": 0.1,
            },
            "grayscale": {"prob": 0.2},
            "gaussian_blur": {"prob": 0.0},
            "solarization": {"prob": 0.0},
            "equalization": {"prob": 0.0},
            "horizontal_flip": {"prob": 0.5},
        }
    )
    transform = FullTransformPipeline(
        [NCropAugmentation(build_transform_pipeline("custom", aug), 2)]
    )
    import solo.data.pretrain_dataloader as solo_data

    original = solo_data.dataset_with_index
    try:
        install_boosted_augment(OmegaConf.create({"method": "bcl", "method_kwargs": {}}))
        data = prepare_datasets(
            "custom", transform, digits_root / "digits-lt" / "train", data_format="image_folder"
        )
    finally:
        solo_data.dataset_with_index = original
    table = getattr(data, TABLE_ATTRIBUTE)
    assert len(table) == len(data) > 100
    steps = transform.transforms[0].transform.transforms
    assert [type(s).__name__ for s in steps[-3:]] == ["BoostedRandAugment", "ToTensor", "Normalize"]
    assert isinstance(steps[-3], BoostedRandAugment) and steps[-3] is data.bcl_boost
    table.update(torch.ones(len(data)))
    index, views, target = data[5]
    assert index == 5 and len(views) == 2 and data.bcl_boost.prob == 1.0


def test_bcl_step_equals_solo_simclr_and_records_every_sample(build):
    """Same weights, same batch: BCL-I's loss is solo-learn's SimCLR loss; the step's samples
    get their losses recorded."""
    from solo_tase.tail.momentum_loss import EpochMomentumLoss

    bcl = build("bcl.yaml").train()
    simclr = build("simclr.yaml").train()
    simclr.load_state_dict(bcl.state_dict())  # strict: the same architecture and projector
    bcl.memorisation.losses = EpochMomentumLoss(8, beta=0.97)
    with torch.no_grad():
        got = float(bcl.training_step(batch(8), 0))
        assert abs(got - float(simclr.training_step(batch(8), 0))) < 1e-5
    bcl.memorisation.momentum.fold_before(1)
    assert bool(bcl.memorisation.momentum.seen.all())


@pytest.fixture(scope="module")
def bcl_run(run_solo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bcl-run")
    run_solo("main_pretrain.py", DIGITS, "bcl.yaml", BCL_RUN, out)
    return out


@pytest.mark.slow
def test_bcl_pretrain_tracks_momentum_losses_and_checkpoints_them(bcl_run: Path):
    folder = single_run_folder(bcl_run, "bcl")
    args = json.loads((folder / "args.json").read_text())
    assert args["method_kwargs"] == {
        "proj_hidden_dim": 64,
        "proj_output_dim": 32,
        "proj_batch_norm": False,
        "temperature": 0.2,
        "momentum_loss_beta": 0.97,
        "rand_k": 1,
        "rand_strength": 30.0,
        "proj_output_bn": False,
        "joint_views": False,
        "gh": {**DIGITS_GH, "target_dim": None},  # off: not resolved
    }
    stats = read_stats(folder)
    assert [s["epoch"] for s in stats] == [0, 1, 2]
    assert stats[0]["bcl_seen"] == SEEN_PER_EPOCH
    assert SEEN_PER_EPOCH < stats[2]["bcl_seen"] <= 3 * SEEN_PER_EPOCH
    for s in stats:
        assert 0 < s["bcl_weight_mean"] < s["bcl_weight_max"] <= 1
        assert math.isfinite(s["bcl_momentum_loss_mean"])

    ckpts = checkpoints(folder)
    assert sorted(ckpts) == [0, 1, 2]
    saved = checkpoint_parts(folder, 0)["bcl"]
    # saved in on_train_epoch_end before the method's update: epoch 0's losses are pending
    assert saved["pending_epoch"] == 0 and saved["momentum"]["last_epoch"] == -1
    assert saved["epoch_complete"] is True and saved["steps_in_epoch"] == 3
    assert int((saved["momentum"]["count"] > 0).sum()) == SEEN_PER_EPOCH
    losses = step_losses(bcl_run)
    assert sorted(losses) == list(range(9)) and all(math.isfinite(v) for v in losses.values())


@pytest.mark.slow
def test_bcl_resumes_exactly_from_a_checkpoint(bcl_run: Path, run_solo, tmp_path: Path):
    """Resume from the epoch-0 checkpoint: epochs 1-2 see the same boost weights (pending losses
    applied at start), views and losses as the uninterrupted run."""
    folder = single_run_folder(bcl_run, "bcl")
    ckpt = checkpoints(folder)[0]
    resumed = tmp_path / "resumed"
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "bcl.yaml",
        BCL_RUN + [f"resume_from_checkpoint='{ckpt}'"],
        resumed,
    )
    uninterrupted, after = step_losses(bcl_run), step_losses(resumed)
    assert sorted(after) == [3, 4, 5, 6, 7, 8]
    for step in after:
        assert abs(after[step] - uninterrupted[step]) < 1e-5, (step, after, uninterrupted)
    a = checkpoint_parts(folder, 2)["bcl"]["momentum"]
    b = checkpoint_parts(single_run_folder(resumed, "bcl"), 2)["bcl"]["momentum"]
    assert torch.equal(a["seen"], b["seen"])
    assert torch.allclose(a["values"], b["values"], atol=1e-6)


@pytest.mark.slow
def test_bcl_runs_under_two_process_ddp(run_solo, tmp_path: Path):
    """Each rank observes its shard; the gathered momentum losses cover both ranks' samples."""
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "bcl.yaml",
        TINY + DDP + ["max_epochs=2", "optimizer.batch_size=16"],
        tmp_path,
    )
    folder = single_run_folder(tmp_path, "bcl")
    stats = read_stats(folder)
    assert [s["epoch"] for s in stats] == [0, 1]
    assert stats[0]["bcl_seen"] == 2 * 3 * 16  # 2 ranks x 3 steps x 16 images
    saved = checkpoint_parts(folder, 1)["bcl"]["momentum"]
    # the epoch-1 checkpoint precedes epoch 1's update: epoch 0's samples, epoch 1's pending
    assert int(saved["seen"].sum()) == stats[0]["bcl_seen"]
    union = saved["seen"] | (saved["count"] > 0)
    assert int((saved["count"] > 0).sum()) == 2 * 3 * 16
    assert int(union.sum()) == stats[1]["bcl_seen"]


@pytest.mark.slow
def test_bcl_d_is_sdclr_with_the_boost_and_resumes_exactly(run_solo, tmp_path: Path):
    """``sdclr`` with ``bcl: true``: SDCLR's masks every epoch, BCL's momentum losses and boost
    (two ops per view), both states in the checkpoint, and an exact resume."""
    run = BCL_RUN[:-1] + ["data.num_workers=0"]
    first = tmp_path / "first"
    run_solo("main_pretrain.py", DIGITS, "bcl_d.yaml", run, first)
    folder = single_run_folder(first, "sdclr")
    kwargs = json.loads((folder / "args.json").read_text())["method_kwargs"]
    assert kwargs["bcl"] is True and kwargs["rand_k"] == 2 and kwargs["prune_ratio"] == 0.9
    stats = read_stats(folder)
    assert [s["epoch"] for s in stats if "masks_checksum" in s] == [0, 1, 2]
    boosted = [s for s in stats if "bcl_seen" in s]
    assert [s["epoch"] for s in boosted] == [0, 1, 2] and boosted[0]["bcl_seen"] == SEEN_PER_EPOCH
    assert all(0 < s["bcl_weight_mean"] < s["bcl_weight_max"] <= 1 for s in boosted)
    parts = checkpoint_parts(folder, 0)
    assert "sdclr" in parts and parts["bcl"]["pending_epoch"] == 0

    resumed = tmp_path / "resumed"
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "bcl_d.yaml",
        run + [f"resume_from_checkpoint='{checkpoints(folder)[0]}'"],
        resumed,
    )
    uninterrupted, after = step_losses(first), step_losses(resumed)
    assert sorted(after) == [3, 4, 5, 6, 7, 8]
    for step in after:
        assert abs(after[step] - uninterrupted[step]) < 1e-5, (step, after, uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, message",
    [
        (
            "method_kwargs.momentum_loss_beta=1.0",
            "method_kwargs.momentum_loss_beta must be in [0, 1)",
        ),
        ("method_kwargs.rand_strength=40", "method_kwargs.rand_strength must be in [10, 30]"),
        ("data.format=dali", "set data.format: image_folder"),
    ],
)
def test_bad_bcl_configuration_fails_at_start_naming_the_key(
    run_solo, tmp_path: Path, override, message
):
    proc = run_solo(
        "main_pretrain.py",
        DIGITS,
        "bcl.yaml",
        TINY + ["max_epochs=1", override],
        tmp_path,
        check=False,
    )
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert not list(tmp_path.glob("*/*/*.ckpt"))


@pytest.mark.parametrize("joint", [False, True])
def test_joint_views_make_batchnorm_see_both_views_at_once(joint: bool, build):
    """BCL's official forward: both views as one batch of 2B (``joint_views``); solo-learn's: one
    view at a time. The projector's BatchNorm sees 2B or B samples per forward; the step's loss
    is the same NT-Xent of the two views' projections."""
    model = build(
        "bcl.yaml",
        ["method_kwargs.proj_batch_norm=True", f"method_kwargs.joint_views={joint}"],
    ).train()
    from solo_tase.tail.momentum_loss import EpochMomentumLoss

    model.memorisation.losses = EpochMomentumLoss(8, beta=0.97)
    seen: list[int] = []
    norm = next(m for m in model.projector if isinstance(m, torch.nn.BatchNorm1d))
    norm.register_forward_pre_hook(lambda _m, args: seen.append(args[0].size(0)))
    backbone_norm: list[int] = []
    model.backbone.bn1.register_forward_pre_hook(
        lambda _m, args: backbone_norm.append(args[0].size(0))
    )
    loss = model.training_step(batch(8), 0)
    assert torch.isfinite(loss)
    assert seen == ([16] if joint else [8, 8]) and backbone_norm == seen
