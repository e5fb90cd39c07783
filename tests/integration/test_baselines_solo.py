"""SDCLR and TS through solo-learn: in-process method checks and real main_pretrain.py /
main_linear.py runs on Digits-LT (CPU), including a 2-process DDP run (gloo)."""

from __future__ import annotations

import copy
import io
import json
import math
from pathlib import Path

import pytest
import torch

from solo_tase.methods.checkpoint_state import read_parts
from solo_tase.run_folder import run_folder
from tests.helpers.solo_runs import (
    DDP,
    DIGITS,
    DIGITS_GH,
    TINY,
    batch,
    checkpoints,
    read_stats,
    single_run_folder,
    step_losses,
)

pytestmark = pytest.mark.integration

SDCLR_RUN = TINY + ["max_epochs=2", "checkpoint.keep_prev=True"]


def test_registration_adds_sdclr_and_ts_and_leaves_simclr():
    import solo.methods

    from solo_tase.methods import register_methods
    from solo_tase.methods.sdclr import SDCLR
    from solo_tase.methods.ts import TS

    added = register_methods()
    assert added["sdclr"] is SDCLR is solo.methods.METHODS["sdclr"]
    assert added["ts"] is TS is solo.methods.METHODS["ts"]
    assert solo.methods.METHODS["simclr"].__module__ == "solo.methods.simclr"


# ----------------------------------------------------------------------------- SDCLR in-process
def test_sdclr_step_is_dense_view1_against_pruned_view2_and_trains_every_parameter(build):
    """The method's training_step gives the gradient of the official two-pass scheme, run here
    through the same model's dense and pruned forwards; every parameter gets a gradient (DDP
    runs with find_unused_parameters=False)."""
    model = build("sdclr.yaml", ["method_kwargs.prune_ratio=0.5"]).train()
    stats = model.update_masks()
    total = sum(p.numel() for n, p in model.backbone.named_parameters() if n in model.prunable)
    assert len(model.prunable) == 20 and stats["conv_weights"] == total
    assert stats["pruned_weights"] == round(0.5 * total)
    reference = copy.deepcopy(model)
    idx, (x1, x2), y = batch()

    model.training_step([idx, [x1, x2], y], 0).backward()

    tau = reference.settings.temperature
    from solo_tase.losses.nt_xent import nt_xent_loss

    dense = reference.base_training_step(x1, y)
    z2 = reference.pruned_forward(x2)
    (nt_xent_loss(torch.cat([dense["z"], z2.detach()]), tau) + dense["loss"]).backward()
    nt_xent_loss(torch.cat([dense["z"].detach(), reference.pruned_forward(x2)]), tau).backward()

    names = [n for n, _ in model.named_parameters()]
    assert any(n.startswith("pruned_norms.") for n in names)
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        assert p.grad is not None, f"{name} gets no gradient"
        assert torch.allclose(p.grad, q.grad, rtol=1e-3, atol=1e-6), name


def test_sdclr_state_dict_names_keep_main_linear_on_the_dense_weights(build):
    model = build("sdclr.yaml")
    for key in model.state_dict():
        if not key.startswith("backbone."):
            assert "backbone" not in key and "encoder" not in key, key
    dense = {k for k in model.state_dict() if k.startswith("backbone.")}
    assert dense == {f"backbone.{k}" for k in model.backbone.state_dict()}


def test_sdclr_checkpoint_carries_the_masks(build):
    model = build("sdclr.yaml")
    model.update_masks()
    model.mask_epoch = 3
    saved: dict = {}
    model.on_save_checkpoint(saved)
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)  # what Lightning 2.6 does on resume

    other = build("sdclr.yaml")
    other.on_load_checkpoint(loaded)
    assert other.mask_epoch == 3 and sorted(other.masks) == sorted(model.masks)
    for name, mask in model.masks.items():
        assert torch.equal(other.masks[name], mask)
    with pytest.raises(ValueError, match="not written by the 'sdclr' method"):
        other.on_load_checkpoint({"state_dict": {}})


def test_sdclr_restored_masks_follow_the_model_to_its_device(build):
    """Lightning calls on_load_checkpoint before it moves the model to its GPU: the masks must
    reach each weight's device at the first pruned pass ("meta" stands in for the GPU)."""
    model = build("sdclr.yaml")
    model.update_masks()
    saved: dict = {}
    model.on_save_checkpoint(saved)
    other = build("sdclr.yaml")
    other.on_load_checkpoint(saved)
    assert {m.device.type for m in other.masks.values()} == {"cpu"}
    other = other.to("meta")
    z = other.pruned_forward(torch.empty(2, 3, 32, 32, device="meta"))
    assert z.device.type == "meta"
    weights = dict(other.backbone.named_parameters())
    assert all(other.masks[n].device == weights[n].device for n in other.masks)


def test_sdclr_official_head_trains_both_branches(build):
    model = build("sdclr.yaml", ["+method_kwargs.head=official"]).train()
    linears = [m for m in model.projector if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 3 and len(model.pruned_head_norms.norms) == 3
    model.update_masks()
    model.training_step(batch(), 0).backward()
    assert all(p.grad is not None for p in model.projector.parameters())
    assert all(p.grad is not None for p in model.pruned_head_norms.parameters())


# ----------------------------------------------------------------------------- TS in-process
def test_ts_first_epoch_shifts_the_phase_and_batch_norm_is_an_option(build):
    official = build(
        "ts.yaml",
        [
            "method_kwargs.period=200",
            "+method_kwargs.first_epoch=1",
            "+method_kwargs.proj_batch_norm=True",
        ],
    ).train()
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in official.projector)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in build("ts.yaml").projector)
    official.training_time = lambda batch_idx: 149.0
    tau = 0.1 + 0.9 * (1 + math.cos(math.pi * 150 / 200)) / 2  # t = 149 + 1
    reference = build(
        "ts.yaml", ["method_kwargs.period=200", "+method_kwargs.proj_batch_norm=True"]
    ).train()
    reference.load_state_dict(official.state_dict())
    reference.training_time = lambda batch_idx: 150.0
    with torch.no_grad():
        assert (
            abs(
                float(official.training_step(batch(8), 0))
                - float(reference.training_step(batch(8), 0))
            )
            < 1e-6
        )
    assert reference.settings.epoch_temperature(150.0) == pytest.approx(tau)


def test_ts_step_equals_solo_simclr_at_the_scheduled_temperature(build):
    """Same weights, same batch: TS at t = 150 epochs == solo's SimCLR at tau(150)."""
    ts = build("ts.yaml", ["method_kwargs.period=200"]).train()
    ts.training_time = lambda batch_idx: 150.0
    tau = 0.1 + 0.9 * (1 + math.cos(math.pi * 150 / 200)) / 2
    simclr = build("simclr.yaml", [f"method_kwargs.temperature={tau}"]).train()
    simclr.load_state_dict(ts.state_dict())  # strict: the same architecture and projector
    other = build("simclr.yaml", ["method_kwargs.temperature=0.5"]).train()
    other.load_state_dict(ts.state_dict())
    with torch.no_grad():
        got = float(ts.training_step(batch(8), 0))
        assert abs(got - float(simclr.training_step(batch(8), 0))) < 1e-5
        assert abs(got - float(other.training_step(batch(8), 0))) > 1e-3


# ----------------------------------------------------------------------------- real runs
@pytest.fixture(scope="module")
def sdclr_run(run_solo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdclr-run")
    run_solo("main_pretrain.py", DIGITS, "sdclr.yaml", SDCLR_RUN, out)
    return out


@pytest.mark.slow
def test_sdclr_pretrain_prunes_every_epoch_and_checkpoints(sdclr_run: Path):
    folder = single_run_folder(sdclr_run, "sdclr")
    args = json.loads((folder / "args.json").read_text())
    assert args["method_kwargs"] == {  # the resolved settings, defaults included
        "proj_hidden_dim": 64,
        "proj_output_dim": 32,
        "temperature": 0.2,
        "prune_ratio": 0.9,
        "head": "two_layer",
        "bcl": False,
        "momentum_loss_beta": 0.97,
        "rand_k": 2,
        "rand_strength": 30.0,
        "proj_batch_norm": True,
        "proj_output_bn": False,
        "joint_views": False,
        "gh": {**DIGITS_GH, "target_dim": None},  # off: not resolved
    }
    stats = read_stats(folder)
    assert [s["epoch"] for s in stats] == [0, 1]
    for s in stats:
        assert s["pruned_weights"] == round(0.9 * s["conv_weights"]) and s["conv_weights"] > 10**7
    assert stats[0]["masks_checksum"] != stats[1]["masks_checksum"]  # recomputed after training

    ckpts = checkpoints(folder)
    assert sorted(ckpts) == [0, 1]
    ckpt = torch.load(ckpts[1], map_location="cpu", weights_only=True)
    saved, state = read_parts(ckpt)["sdclr"], ckpt["state_dict"]
    assert saved["mask_epoch"] == 1 and len(saved["masks"]) == 20
    removed = sum(int((~m).sum()) for m in saved["masks"].values())
    assert removed == stats[1]["pruned_weights"]
    # separate BatchNorm statistics: the branches saw different weights and views
    for bn in ("bn1", "layer4.1.bn2"):
        assert not torch.allclose(
            state[f"backbone.{bn}.running_mean"],
            state[f"pruned_norms.norms.{bn.replace('.', '-')}.running_mean"],
        )
    assert int(state["pruned_norms.norms.bn1.num_batches_tracked"]) == 6
    assert int(state["backbone.bn1.num_batches_tracked"]) == 6
    losses = step_losses(sdclr_run)
    assert sorted(losses) == list(range(6))
    assert all(math.isfinite(v) for v in losses.values())


@pytest.mark.slow
def test_sdclr_resumes_exactly_from_a_checkpoint(sdclr_run: Path, run_solo, tmp_path: Path):
    ckpt = checkpoints(single_run_folder(sdclr_run, "sdclr"))[0]
    resumed = tmp_path / "resumed"
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "sdclr.yaml",
        SDCLR_RUN + [f"resume_from_checkpoint='{ckpt}'"],
        resumed,
    )
    uninterrupted, after = step_losses(sdclr_run), step_losses(resumed)
    assert sorted(after) == [3, 4, 5]
    for step in after:
        assert abs(after[step] - uninterrupted[step]) < 1e-5, (step, after, uninterrupted)
    assert (
        read_stats(single_run_folder(resumed, "sdclr"))[-1]["masks_checksum"]
        == read_stats(run_folder(sdclr_run, "sdclr"))[1]["masks_checksum"]
    )


@pytest.fixture(scope="module")
def sdclr_ddp_run(run_solo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdclr-ddp")
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "sdclr.yaml",
        SDCLR_RUN + DDP + ["optimizer.batch_size=16", "data.num_workers=0"],
        out,
    )
    return out


@pytest.mark.slow
def test_sdclr_runs_under_two_process_ddp(sdclr_ddp_run: Path):
    """Each rank computes its masks at every epoch start and the method checks (all_gather of
    the checksums) that they are identical, so a finished run is the proof; stats come from
    rank 0 only."""
    folder = single_run_folder(sdclr_ddp_run, "sdclr")
    stats = read_stats(folder)
    assert [s["epoch"] for s in stats] == [0, 1]
    assert all(s["pruned_weights"] == round(0.9 * s["conv_weights"]) for s in stats)
    args = json.loads((folder / "args.json").read_text())
    assert args["strategy"] == "ddp" and args["devices"] == "2"
    losses = step_losses(sdclr_ddp_run)
    assert sorted(losses) == list(range(6)) and all(math.isfinite(v) for v in losses.values())


@pytest.mark.slow
def test_main_linear_loads_the_dense_sdclr_weights(sdclr_ddp_run: Path, run_linear, tmp_path: Path):
    ckpt = checkpoints(single_run_folder(sdclr_ddp_run, "sdclr"))[1]
    linear_ckpt = run_linear(ckpt, tmp_path / "linear", "pretrain_method=sdclr")
    pre = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    lin = torch.load(linear_ckpt, map_location="cpu", weights_only=True)["state_dict"]
    names = [k for k in pre if k.startswith("backbone.")]
    assert len(names) == 120  # ResNet-18: weights, biases and BatchNorm statistics
    for k in names:
        assert torch.equal(pre[k], lin[k]), k


@pytest.mark.slow
def test_ts_pretrain_follows_the_schedule(run_solo, tmp_path: Path):
    """period = 1 epoch: tau = 1.0, 0.1, 1.0 at the starts of epochs 0, 1, 2; per step, t moves
    by 1/3 epoch each of the 3 steps."""
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "ts.yaml",
        TINY + ["max_epochs=3", "method_kwargs.period=1", "method_kwargs.per_step=true"],
        tmp_path,
    )
    stats = read_stats(single_run_folder(tmp_path, "ts"))
    assert [(s["epoch"], round(s["tau"], 6)) for s in stats] == [(0, 1.0), (1, 0.1), (2, 1.0)]
    taus = step_losses(tmp_path, key="ts/tau_step")
    assert sorted(taus) == list(range(9))
    for step, tau in taus.items():
        t = step // 3 + (step % 3) / 3
        assert abs(tau - (0.1 + 0.9 * (1 + math.cos(math.pi * t)) / 2)) < 1e-6, (step, tau)
    assert all(math.isfinite(v) for v in step_losses(tmp_path).values())


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, override, message",
    [
        (
            "sdclr.yaml",
            "method_kwargs.prune_ratio=1.0",
            "method_kwargs.prune_ratio must be in [0, 1)",
        ),
        ("sdclr.yaml", "backbone.name=vit_tiny", "backbone.name must be one of"),
        ("ts.yaml", "method_kwargs.period=0", "method_kwargs.period must be > 0"),
        (
            "ts.yaml",
            "method_kwargs.tau_min=1.5",
            "method_kwargs.tau_max must be >= method_kwargs.tau",
        ),
        ("ts.yaml", "augmentations.0.num_crops=3", "needs exactly 2 large crops"),
    ],
)
def test_bad_configuration_fails_at_start_naming_the_key(
    run_solo, tmp_path: Path, config, override, message
):
    proc = run_solo(
        "main_pretrain.py", DIGITS, config, TINY + ["max_epochs=1", override], tmp_path, check=False
    )
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert not list(tmp_path.glob("*/*/*.ckpt"))
