"""How well each tail signal sees the imbalance on a trained network's own features.

For each pre-trained checkpoint given (a run folder's last checkpoint, or a checkpoint file with
the run's args.json beside it, e.g. one of an epoch where TASE makes an estimate), with the
dataset folder it was trained on, the training images are passed once through the frozen backbone
with the evaluation transform (the "clean" bank), and every tail-signal option of TASE is computed
on that bank by TaseState itself: Spearman rho between each sample's estimated frequency and its
true class size, rho between the classes' mean estimate and their size (class rho), the imbalance
recovered (geometric-mean estimated frequency of the head class over the tail class) against the
true one, the mean weight of the Few and Many groups, and each class's mean estimate. Two
measurements with the labels say whether a miss is the estimator's or the features': each class's
10-NN purity (the share of a sample's 10 nearest neighbours in its own class), and the density
computed on features the labels separate (an LDA projection of the bank: a measurement device,
never a signal). ``--plot`` draws, per signal, each class's mean estimate against its true log
relative frequency (the oracle lies on the diagonal), and each class's purity. No training and no
test data are involved: this chooses which signals are worth a training sweep.

    python benchmarks/tail_signals.py RUN_OR_CKPT:DATA_DIR [...] [--out FILE.json] [--plot FILE.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F

from solo_tase.eval.checkpoint import load_backbone
from solo_tase.eval.datasets import open_set
from solo_tase.eval.features import extract_features, resolve_device
from solo_tase.eval.transforms import eval_transform
from solo_tase.methods.config import TaseConfig
from solo_tase.methods.tase_state import TaseState
from solo_tase.run_folder import last_checkpoint
from solo_tase.tail.kmeans.backend import make_backend
from solo_tase.tail.signals import nearest
from solo_tase.utils.atomic import write_text_atomically

REPO = Path(__file__).resolve().parents[1]

# option label -> method_kwargs (K = the number of classes)
SIGNALS: dict[str, dict] = {
    "kmeans K=C": {"tail_signal": "kmeans"},
    "overcluster 3C, fine": {"tail_signal": "overcluster", "overcluster_factor": 3},
    "overcluster 5C, fine": {"tail_signal": "overcluster", "overcluster_factor": 5},
    "overcluster 3C, merged": {
        "tail_signal": "overcluster",
        "overcluster_factor": 3,
        "overcluster_sizes": "merged",
    },
    "knn_density k=5": {"tail_signal": "knn_density", "knn_k": 5},
    "knn_density k=20": {"tail_signal": "knn_density", "knn_k": 20},
    "knn_density k=50": {"tail_signal": "knn_density", "knn_k": 50},
    "knn_density k=100": {"tail_signal": "knn_density", "knn_k": 100},
    "knn_density k=200": {"tail_signal": "knn_density", "knn_k": 200},
    "knn_density k=400": {"tail_signal": "knn_density", "knn_k": 400},
    "knn_density k=3N/K (default)": {"tail_signal": "knn_density"},
    "knn_density k=3N/K, profile 100": {"tail_signal": "knn_density", "score_profile_ratio": 100.0},
    "knn_density k=3N/K, score_scale 3": {"tail_signal": "knn_density", "score_scale": 3.0},
    "knn_density k=3N/K, whitened": {"tail_signal": "knn_density", "knn_space": "whitened"},
    "knn_density k=3N/K, whitened, score_scale 3": {
        "tail_signal": "knn_density",
        "knn_space": "whitened",
        "score_scale": 3.0,
    },
}


def clean_bank(run: Path, data: Path) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Train-set features [N, D] and labels [N] of the checkpoint ``run`` (a file, or a run
    folder's last checkpoint); its method."""
    ckpt = run if run.is_file() else last_checkpoint(run)
    backbone = load_backbone(ckpt)
    transform = eval_transform(backbone.args)
    train = open_set(str(data / "train"), role="probe", data_root=None, transform=transform.build())
    feats = extract_features(
        backbone.module,
        train.dataset,
        device=resolve_device("auto"),
        description=f"{run.name} train features",
    )
    return feats.x, feats.y, str(backbone.args.get("method"))


# measurement devices: the default estimator on features the labels separate
LDA_SIGNALS: dict[str, dict] = {
    "knn_density k=3N/K on LDA features (labels: a device)": {"tail_signal": "knn_density"},
    "knn_density k=3N/K, score_scale 3, on LDA features (labels: a device)": {
        "tail_signal": "knn_density",
        "score_scale": 3.0,
    },
}
PURITY_K = 10


def lda_features(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The bank ``x`` [N, D] projected on its C - 1 linear discriminants of the labels ``y`` [N]
    and centred: features in which the classes separate as well as a linear map can make them."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    unit = F.normalize(x.float(), dim=1).numpy()
    lda = LinearDiscriminantAnalysis(n_components=int(y.max())).fit(unit, y.numpy())
    z = torch.from_numpy(lda.transform(unit)).float()
    return z - z.mean(dim=0)


def class_purity(x: torch.Tensor, y: torch.Tensor, k: int = PURITY_K) -> list[float]:
    """Per class [C]: the mean share of a sample's ``k`` nearest neighbours (cosine, the bank
    ``x`` [N, D]) that have its label ``y`` [N]."""
    same = torch.empty(y.numel(), dtype=torch.float32)
    for rows, _, idx in nearest(F.normalize(x.float(), dim=1), k):
        same[rows] = (y[idx] == y[rows, None]).float().mean(dim=1)
    return [float(same[y == c].mean()) for c in range(int(y.max()) + 1)]


def measure(x: torch.Tensor, y: torch.Tensor, num_classes: int) -> dict[str, dict]:
    """Diagnostics of every signal in SIGNALS on the bank ``x`` [N, D] with labels ``y`` [N], and
    of the devices of LDA_SIGNALS on its LDA projection."""
    out = {label: signal_stats(x, y, num_classes, kwargs) for label, kwargs in SIGNALS.items()}
    z = lda_features(x, y)
    out |= {label: signal_stats(z, y, num_classes, kw) for label, kw in LDA_SIGNALS.items()}
    return out


def signal_stats(x: torch.Tensor, y: torch.Tensor, num_classes: int, kwargs: dict) -> dict:
    """The diagnostics of one TASE signal option ``kwargs`` on the bank ``x`` [N, D]."""
    cfg = TaseConfig.from_kwargs(
        {**kwargs, "num_clusters": num_classes, "warmup_epochs": 1}, max_epochs=1
    )
    state = TaseState(cfg, x.size(0), x.size(1))
    state.observe(torch.arange(x.size(0)), x, y, epoch=0)
    stats = state.recluster(make_backend("torch"), epoch=1, seed=0)
    return {
        k: stats.get(k)
        for k in (
            "rho",
            "recovered_imbalance",
            "true_imbalance",
            "w_many",
            "w_few",
            "tau_many",
            "tau_few",
        )
    } | class_means(state.log_freq, y)


def class_means(log_freq: torch.Tensor, y: torch.Tensor) -> dict:
    """Each class's true log relative frequency and mean estimate [C] (NaNs left out), and the
    Spearman rho between the two over the classes."""
    from scipy.stats import spearmanr

    counts = torch.bincount(y).double()
    finite = torch.isfinite(log_freq)
    mean = [float(log_freq[finite & (y == c)].double().mean()) for c in range(len(counts))]
    true = torch.log(counts / counts.mean()).tolist()
    return {
        "class_true": true,
        "class_estimate": mean,
        "class_rho": float(spearmanr(mean, true).statistic),
    }


def plot(results: dict[str, dict], path: Path) -> None:
    """One panel per signal: each class's mean estimate against its true log relative frequency,
    one series per checkpoint; the diagonal is the oracle."""
    from matplotlib.figure import Figure

    labels = [*SIGNALS, *LDA_SIGNALS]
    cols = 4
    rows = -(-(len(labels) + 1) // cols)
    fig = Figure(figsize=(4 * cols, 3.6 * rows), layout="constrained")
    for i, label in enumerate(labels):
        ax = fig.add_subplot(rows, cols, i + 1)
        for res in results.values():
            sig = res["signals"][label]
            ax.plot(sig["class_true"], sig["class_estimate"], "o", ms=4, label=res["label"])
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("true log(n_c / mean)")
        ax.set_ylabel("mean estimate")
    ax = fig.add_subplot(rows, cols, len(labels) + 1)
    for res in results.values():
        true = next(iter(res["signals"].values()))["class_true"]
        ax.plot(true, res["class_purity"], "o", ms=4, label=res["label"])
    ax.set_ylim(0, 1)
    ax.set_title(f"{PURITY_K}-NN purity of each class (bank features)", fontsize=9)
    ax.set_xlabel("true log(n_c / mean)")
    ax.set_ylabel(f"share of {PURITY_K} neighbours in the class")
    fig.axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "runs",
        nargs="+",
        help="RUN_DIR:DATA_DIR pairs (run folder with args.json "
        "and checkpoints; dataset folder with train/)",
    )
    p.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "tail_signals.json"
    )
    p.add_argument("--plot", type=Path, default=None, help="the per-class plot (PNG)")
    args = p.parse_args()
    results: dict[str, dict] = {}
    for pair in args.runs:
        run, sep, data = pair.partition(":")
        if not sep:
            p.error(f"{pair!r}: expected RUN_DIR:DATA_DIR")
        x, y, method = clean_bank(Path(run), Path(data))
        label = (
            Path(run).name if Path(run).is_dir() else f"{Path(run).parent.name}/{Path(run).stem}"
        )
        results[run] = {
            "method": method,
            "label": label,
            "signals": measure(x, y, int(y.max()) + 1),
            "class_purity": class_purity(x, y),
        }
        print(
            f"[tail-signals] {run} ({method}): "
            + ", ".join(f"{k} rho {v['rho']:+.2f}" for k, v in results[run]["signals"].items()),
            flush=True,
        )
    lines = [
        "| signal | rho (mean ± std over runs) | class rho "
        "| recovered (geometric mean) / true imbalance | weight Few / Many |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label in [*SIGNALS, *LDA_SIGNALS]:
        rows = [r["signals"][label] for r in results.values()]
        rho = [r["rho"] for r in rows]
        spread = f" ± {statistics.stdev(rho):.2f}" if len(rho) > 1 else ""
        lines.append(
            f"| {label} | {statistics.mean(rho):+.2f}{spread} | "
            f"{statistics.mean(r['class_rho'] for r in rows):+.2f} | "
            f"{statistics.geometric_mean(r['recovered_imbalance'] for r in rows):.1f} / "
            f"{statistics.mean(r['true_imbalance'] for r in rows):.0f} | "
            f"{statistics.mean(r['w_few'] for r in rows):.2f} / "
            f"{statistics.mean(r['w_many'] for r in rows):.2f} |"
        )
    print("\n".join(lines))
    write_text_atomically(args.out, json.dumps(results, indent=2))
    if args.plot is not None:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
