"""Runs solo-learn's real entry points (main_pretrain.py / main_linear.py) in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRETRAIN_CONFIGS = REPO / "scripts" / "pretrain"
LINEAR_CONFIGS = REPO / "scripts" / "linear"

# Tiny, CPU-friendly overrides shared by the integration runs (~3 s per epoch here).
TINY = [
    "data.num_workers=0",
    "optimizer.batch_size=32",
    "method_kwargs.proj_hidden_dim=64",
    "method_kwargs.proj_output_dim=32",
    "+limit_train_batches=3",
    "log_every_n_steps=1",
    "+deterministic=True",
]

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


def run_folder(out_dir: Path, method: str) -> Path:
    """The single Checkpointer folder ``<out>/<method>/<version>`` of a run."""
    folders = [p for p in (out_dir / method).iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def checkpoints(folder: Path) -> dict[int, Path]:
    """Epoch -> checkpoint path in a run folder."""
    from solo_tase.run_folder import checkpoint_epoch

    return {checkpoint_epoch(p): p for p in folder.glob("*.ckpt")}


def read_stats(folder: Path) -> list[dict]:
    return [
        json.loads(line) for line in (folder / "solo_tase_stats.jsonl").read_text().splitlines()
    ]


def step_losses(out_dir: Path, key: str = "train_nce_loss_step") -> dict[int, float]:
    """Global step -> logged loss from Lightning's CSV log of a run."""
    import csv

    (metrics,) = list(out_dir.glob("lightning_logs/version_*/metrics.csv"))
    out = {}
    with open(metrics) as f:
        for row in csv.DictReader(f):
            if row.get(key):
                out[int(row["step"])] = float(row[key])
    return out
