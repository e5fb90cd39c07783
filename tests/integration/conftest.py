"""Fixtures of the integration tier: solo-learn's real entry points (main_pretrain.py /
main_linear.py) in a subprocess, and a Digits-LT config's method built in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

from tests.helpers.paths import LINEAR_CONFIGS
from tests.helpers.solo_runs import DIGITS

Runner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def run_solo(solo_learn_dir: Path, digits_root: Path) -> Runner:
    """``run_solo(script, config_dir, config_name, overrides, out_dir, check=True)``."""

    def run(
        script: str,
        config_dir: Path,
        config_name: str,
        overrides: Sequence[str],
        out_dir: Path,
        check: bool = True,
        timeout: int = 600,
    ) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "SOLO_TASE_DATA": str(digits_root),
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        }
        cmd = [
            sys.executable,
            script,
            "--config-path",
            str(config_dir),
            "--config-name",
            config_name,
            f"checkpoint.dir={out_dir}",
            f"default_root_dir={out_dir}",
            *overrides,
        ]
        proc = subprocess.run(
            cmd, cwd=solo_learn_dir, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"{' '.join(cmd)}\nexited {proc.returncode}\n--- stderr (tail) ---\n"
                f"{proc.stderr[-4000:]}\n--- stdout (tail) ---\n{proc.stdout[-2000:]}"
            )
        return proc

    return run


@pytest.fixture(scope="session")
def run_linear(run_solo: Runner) -> Callable[..., Path]:
    """``run_linear(checkpoint, out_dir, *overrides)``: one tiny epoch of main_linear.py on
    Digits-LT from a pre-training checkpoint; returns the one checkpoint it writes."""

    def run(checkpoint: Path, out_dir: Path, *overrides: str) -> Path:
        run_solo(
            "main_linear.py",
            LINEAR_CONFIGS / "digits-lt",
            "linear.yaml",
            [
                f"pretrained_feature_extractor='{checkpoint}'",
                *overrides,
                "max_epochs=1",
                "data.num_workers=0",
                "+limit_train_batches=1",
                "+limit_val_batches=1",
                "optimizer.batch_size=16",
            ],
            out_dir,
        )
        (linear_checkpoint,) = list(out_dir.glob("linear/*/*.ckpt"))
        return linear_checkpoint

    return run


@pytest.fixture
def build(digits_root: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., torch.nn.Module]:
    """``build(config_name, overrides)``: a Digits-LT config's solo-learn method, in-process,
    with a small projector and seeded weights."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from solo.args.pretrain import parse_cfg
    from solo.methods import METHODS

    import solo_tase.plugin  # noqa: F401  (registers the methods)

    monkeypatch.setenv("SOLO_TASE_DATA", str(digits_root))
    small_head = ["method_kwargs.proj_hidden_dim=64", "method_kwargs.proj_output_dim=32"]

    def make(config_name: str, overrides: Sequence[str] = ()) -> torch.nn.Module:
        with initialize_config_dir(config_dir=str(DIGITS), version_base="1.2"):
            cfg = compose(config_name, overrides=[*small_head, *overrides])
        OmegaConf.set_struct(cfg, False)
        cfg = parse_cfg(cfg)
        torch.manual_seed(0)
        return METHODS[cfg.method](cfg)

    return make
