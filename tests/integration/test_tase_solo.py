"""TASE through solo-learn's real main_pretrain.py / main_linear.py on Digits-LT (CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from solo_tase.run_folder import run_folder
from tests.helpers.solo_runs import (
    DIGITS,
    TASE_RUN,
    TINY,
    checkpoint_parts,
    checkpoints,
    read_stats,
    single_run_folder,
    step_losses,
)

pytestmark = pytest.mark.integration


def test_registration_is_idempotent_and_leaves_solo_untouched():
    import solo.methods

    from solo_tase.methods import register_methods
    from solo_tase.plugin import SoloTasePlugin

    first = register_methods()
    SoloTasePlugin()
    SoloTasePlugin()
    assert register_methods() == first
    from solo_tase.methods.tase import TASE

    assert solo.methods.METHODS["tase"] is TASE
    assert solo.methods.METHODS["simclr"].__module__ == "solo.methods.simclr"


def test_loss_equals_solo_simclr_loss_func():
    from solo.losses.simclr import simclr_loss_func

    from solo_tase.losses.nt_xent import nt_xent_loss

    g = torch.Generator().manual_seed(0)
    for temperature in (0.05, 0.2, 0.5):
        z = torch.randn(64, 32, generator=g, requires_grad=True)
        indexes = torch.arange(32).repeat(2)
        want = simclr_loss_func(z, indexes=indexes, temperature=temperature)
        (want_grad,) = torch.autograd.grad(want, z)
        # bit for bit, values and gradients: training amplifies last-bit differences
        for tau, weights in ((temperature, None), (torch.full((64,), temperature), torch.ones(64))):
            got = nt_xent_loss(z, tau, weights)
            (got_grad,) = torch.autograd.grad(got, z)
            assert torch.equal(got, want) and torch.equal(got_grad, want_grad)


@pytest.fixture(scope="module")
def tase_run(run_solo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tase-run")
    run_solo("main_pretrain.py", DIGITS, "tase.yaml", TASE_RUN, out)
    return out


@pytest.mark.slow
def test_pretrain_runs_tase_reclusters_and_checkpoints(tase_run: Path, digits_root: Path):
    folder = single_run_folder(tase_run, "tase")
    args = json.loads((folder / "args.json").read_text())
    assert args["method"] == "tase"
    assert args["method_kwargs"]["num_clusters"] == 10  # resolved values are recorded
    assert args["data"]["train_path"] == str(digits_root / "digits-lt" / "train")  # resolved
    stats = read_stats(folder)
    assert [s["epoch"] for s in stats] == [0, 1, 2]
    assert [s["reclustered"] for s in stats] == [False, True, True]
    for s in stats[1:]:
        assert 0.1 - 1e-6 <= s["tau_min"] <= s["tau_mean"] <= s["tau_max"] <= 0.5 + 1e-6
        assert 0.0 <= s["nmi"] <= 1.0 and s["empty_clusters"] >= 0 and s["kmeans_seconds"] > 0
    ckpts = checkpoints(folder)
    assert sorted(ckpts) == [0, 1, 2]
    saved = checkpoint_parts(folder, 2)["tase"]["state"]
    assert saved["num_samples"] == 503 and saved["last_cluster_epoch"] == 2
    assert saved["tau"].min() >= 0.1 - 1e-6 and abs(float(saved["weights"].mean()) - 1) < 1e-4
    losses = step_losses(tase_run)
    assert len(losses) == 9 and all(torch.isfinite(torch.tensor(list(losses.values()))))


@pytest.mark.slow
def test_killed_run_resumes_with_identical_tables_and_loss_curve(
    tase_run: Path, run_solo, solo_learn_dir: Path, digits_root: Path, tmp_path: Path
):
    """Kill a run during epoch 2 (after the epoch-1 checkpoint), resume from that checkpoint:
    the re-clustering at epoch 2 and the losses of its steps match the uninterrupted run."""
    killed = tmp_path / "killed"
    env = {**os.environ, "SOLO_TASE_DATA": str(digits_root), "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "main_pretrain.py",
        "--config-path",
        str(DIGITS),
        "--config-name",
        "tase.yaml",
        f"checkpoint.dir={killed}",
        f"default_root_dir={killed}",
        *TASE_RUN,
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=solo_learn_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    stats_file = None
    while time.time() < deadline and proc.poll() is None:
        found = list(killed.glob("tase/*/solo_tase_stats.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 3:  # epoch 2 has started
            stats_file = found[0]
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert stats_file is not None, "the run did not reach epoch 2 before being killed"
    ckpt = checkpoints(stats_file.parent)[1]

    resumed = tmp_path / "resumed"
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "tase.yaml",
        TASE_RUN + [f"resume_from_checkpoint='{ckpt}'"],
        resumed,
    )
    uninterrupted, after = step_losses(tase_run), step_losses(resumed)
    assert sorted(after) == [6, 7, 8]
    for step in after:
        assert abs(after[step] - uninterrupted[step]) < 1e-5, (
            step,
            after[step],
            uninterrupted[step],
        )
    a = checkpoint_parts(single_run_folder(tase_run, "tase"), 2)["tase"]["state"]
    b = checkpoint_parts(single_run_folder(resumed, "tase"), 2)["tase"]["state"]
    for key in ("tau", "weights", "assignments", "similarity", "sizes"):
        assert torch.equal(a[key], b[key]), key
    assert read_stats(run_folder(resumed, "tase"))[-1]["reclustered"] is True


@pytest.mark.slow
def test_main_linear_loads_the_tase_checkpoint(tase_run: Path, run_linear, tmp_path: Path):
    ckpt = checkpoints(single_run_folder(tase_run, "tase"))[2]
    linear_ckpt = run_linear(ckpt, tmp_path / "linear")
    pre = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    lin = torch.load(linear_ckpt, map_location="cpu", weights_only=True)["state_dict"]
    names = [k for k in pre if k.startswith("backbone.") and k.endswith(("weight", "bias"))]
    assert len(names) > 50
    for k in names:
        assert torch.equal(pre[k], lin[k]), k


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, message",
    [
        ("method_kwargs.tau_min=-1", "method_kwargs.tau_min must be > 0"),
        ("method_kwargs.num_clusters=1000", "method_kwargs.num_clusters=1000 exceeds the 503"),
        ("augmentations.0.num_crops=3", "needs exactly 2 large crops"),
        # the default clean bank reads the crop size: refused at start, not at the first estimate
        ("augmentations.0.rrc.enabled=False", "bank_feature=clean needs a crop size"),
    ],
)
def test_bad_configuration_fails_at_start_naming_the_key(
    run_solo, tmp_path: Path, override, message
):
    proc = run_solo(
        "main_pretrain.py",
        DIGITS,
        "tase.yaml",
        TINY + ["max_epochs=1", override],
        tmp_path,
        check=False,
    )
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert not list(tmp_path.glob("tase/*/*.ckpt"))


def test_dali_runs_are_told_every_option_that_needs_a_pytorch_loader():
    from omegaconf import OmegaConf

    from solo_tase.methods.config import ConfigError
    from solo_tase.methods.tase import TASE

    cfg = OmegaConf.create(
        {"data": {"format": "dali"}, "dali": {"encode_indexes_into_labels": True}, "max_epochs": 4}
    )
    both = r"DALI.*bank_feature=crop1 \(or mean\) instead of clean and .*weights_as=loss"
    with pytest.raises(ConfigError, match=both):
        TASE.resolve_config({"bank_feature": "clean", "weights_as": "sampling"}, cfg)
    with pytest.raises(ConfigError, match=r"bank_feature=crop1 \(or mean\) instead of clean$"):
        TASE.resolve_config({"bank_feature": "clean", "weights_as": "loss"}, cfg)
    only_sampling = r"set method_kwargs.weights_as=loss instead of sampling$"
    with pytest.raises(ConfigError, match=only_sampling):
        TASE.resolve_config({"bank_feature": "crop1", "weights_as": "sampling"}, cfg)
    kwargs = {"bank_feature": "crop1", "weights_as": "loss"}
    assert TASE.resolve_config(kwargs, cfg).bank_feature == "crop1"
    cfg.data.format = "image_folder"
    assert TASE.resolve_config({}, cfg).bank_feature == "clean"
