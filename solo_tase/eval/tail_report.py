"""A finished TASE run's tail-signal diagnostics over epochs: table and plot.

Reads ``<run>/solo_tase_stats.jsonl`` (one JSON record per epoch, written by the method) and keeps
the re-clustering epochs: rho (estimated frequency vs. true class size), recovered vs. true
imbalance, and the mean temperature and weight of the true Many / Few groups.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from solo_tase.errors import InputError
from solo_tase.run_folder import STATS_FILE
from solo_tase.utils.atomic import refuse_existing

COLUMNS = (
    "epoch",
    "tail_signal",
    "rho",
    "recovered_imbalance",
    "true_imbalance",
    "nmi",
    "tau_many",
    "tau_few",
    "w_many",
    "w_few",
)


def read_estimates(run: str | Path) -> list[dict[str, Any]]:
    """The re-clustering records of a run folder (or of its stats file itself)."""
    path = Path(run)
    if path.is_dir():
        path = path / STATS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: pass a TASE run folder (the one holding args.json and {STATS_FILE})"
        )
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("reclustered")]


def plot_estimates(records: list[dict[str, Any]], path: Path, *, replace: bool = False) -> Path:
    """Three panels over epochs: rho, imbalance (log), tau and w of Many / Few, to PNG ``path``."""
    refuse_existing(path, replace, "--plot path")
    labelled = [r for r in records if "rho" in r]
    if not labelled:
        raise InputError(
            "no re-clustering of this run has diagnostics (the data has no labels, "
            "or the run has not re-clustered yet): nothing to plot"
        )
    epochs = [r["epoch"] for r in labelled]
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    ax1.plot(epochs, [r["rho"] for r in labelled], marker="o")
    ax1.axhline(0.0, color="grey", lw=0.8)
    ax1.set(title="Spearman rho (signal vs. class size)", xlabel="epoch", ylim=(-1, 1))
    ax2.plot(epochs, [r["recovered_imbalance"] for r in labelled], marker="o", label="recovered")
    ax2.plot(epochs, [r["true_imbalance"] for r in labelled], ls="--", label="true")
    ax2.set(title="imbalance", xlabel="epoch", yscale="log")
    ax2.legend()
    for key, style in (("tau_many", "-"), ("tau_few", "--")):
        ax3.plot(
            epochs,
            [r.get(key, float("nan")) for r in labelled],
            ls=style,
            marker="o",
            label=key.replace("_", " "),
        )
    ax3.set(title="temperature (left) and weight (right)", xlabel="epoch")
    twin = ax3.twinx()
    for key, style in (("w_many", "-"), ("w_few", "--")):
        twin.plot(
            epochs,
            [r.get(key, float("nan")) for r in labelled],
            ls=style,
            color="C3",
            marker="x",
            label=key.replace("_", " "),
        )
    ax3.legend(loc="upper left")
    twin.legend(loc="upper right")
    fig.suptitle(f"tail signal: {labelled[-1].get('tail_signal', 'kmeans')}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
