"""solo-learn runs of the integration tier: the tiny overrides they share and the readers of
what a run leaves behind (its Checkpointer folder, checkpoints, stats file and loss log)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import torch

from solo_tase.methods.checkpoint_state import read_parts
from solo_tase.run_folder import STATS_FILE, checkpoint_epoch, run_folder
from tests.helpers.paths import PRETRAIN_CONFIGS

DIGITS = PRETRAIN_CONFIGS / "digits-lt"
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
# Two CPU processes (gloo). Lightning 2.6 on CPU takes only an int-like number of processes;
# solo-learn computes len(cfg.devices), so the number must stay a string (its lr scaling then
# counts 1 device; docs/developing.md).
DDP = ["strategy=ddp", 'devices="2"', "accelerator=cpu"]
# The CIFAR configs are written for one GPU: one CPU process, 32-bit, one validation batch.
ONE_CPU = [
    "accelerator=cpu",
    'devices="1"',
    "strategy=auto",
    "precision=32",
    "sync_batchnorm=False",
    "+limit_val_batches=1",
]
# TASE with a warm-up of 1 epoch, re-clustering at the start of epochs 1 and 2
TASE_RUN = TINY + [
    "max_epochs=3",
    "method_kwargs.warmup_epochs=1",
    "method_kwargs.recluster_every=1",
    "checkpoint.keep_prev=True",
    "method_kwargs.kmeans_backend=torch",
    "method_kwargs.tail_signal=kmeans",
]
# the GH block of scripts/pretrain/digits-lt's configs (off), every key listed
DIGITS_GH = {
    "enabled": False,
    "target_seed": 0,
    "target_file": None,
    "warmup_epochs": 50,
    "ramp_epochs": 1,
    "weight": 1.0,
    "beta_warmup": 0.9,
    "beta": 0.99,
    "prior_every": 2,
    "sinkhorn_epsilon": 0.05,
    "sinkhorn_iterations": 300,
    "temperature": 0.1,
    "schedule": "cifar",
    "average_start": 10,
    "prior_floor": 100,
}


def single_run_folder(out_dir: Path, method: str) -> Path:
    """The run's Checkpointer folder ``<out>/<method>/<version>`` as the package reads it
    (``run_folder``), asserting that the run wrote that one folder only."""
    folder = run_folder(out_dir, method)
    others = [p for p in (out_dir / method).iterdir() if p.is_dir() and p != folder]
    assert not others, f"{out_dir / method} holds other run folders than {folder.name}: {others}"
    return folder


def checkpoints(folder: Path) -> dict[int, Path]:
    """Epoch -> checkpoint path in a run folder."""
    return {checkpoint_epoch(p): p for p in folder.glob("*.ckpt")}


def checkpoint_parts(folder: Path, epoch: int) -> dict[str, Any]:
    """The plugin's parts (per method, the RNG states) of a run folder's checkpoint of ``epoch``."""
    return read_parts(torch.load(checkpoints(folder)[epoch], map_location="cpu", weights_only=True))


def read_stats(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / STATS_FILE).read_text().splitlines()]


def step_losses(out_dir: Path, key: str = "train_nce_loss_step") -> dict[int, float]:
    """Global step -> logged loss from Lightning's CSV log of a run."""
    (metrics,) = list(out_dir.glob("lightning_logs/version_*/metrics.csv"))
    out = {}
    with open(metrics) as f:
        for row in csv.DictReader(f):
            if row.get(key):
                out[int(row["step"])] = float(row[key])
    return out


def batch(size: int = 4) -> list:
    """A seeded solo-learn training batch: indexes, two 32x32 views, labels."""
    g = torch.Generator().manual_seed(3)
    views = [torch.randn(size, 3, 32, 32, generator=g) for _ in range(2)]
    return [torch.arange(size), views, torch.randint(0, 10, (size,), generator=g)]
