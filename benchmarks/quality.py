"""Quality benchmark: SimCLR, TS, SDCLR, TASE (and ablations) on a long-tailed dataset folder.

Every variant is pre-trained through solo-learn's ``main_pretrain.py`` with the configs of
``scripts/pretrain/<dataset>/`` (only the method block and the pre-training seed change), then
evaluated with the same ``solo-tase eval`` protocols: the full-shot linear probe, a 10-shot linear
probe (3 draws) and weighted kNN. Results are mean +- std over pre-training seeds of Many /
Medium / Few / Std / All, plus the paired difference of each variant against SimCLR (same seed,
same data), TASE's tail-signal diagnostics, and the pre-training minutes. The Markdown goes into
docs/results.md (between ``quality:<dataset>`` markers) and
benchmarks/results/quality_<dataset>.json.

On Fashion-MNIST-LT every pre-training seed ``s`` builds its own data: images drawn with seed ``s``
and the classes ranked head-to-tail by the permutation ``random:s``, so the Many / Medium / Few
numbers average over 3 class orders and do not measure the difficulty of a few fixed classes.
``--split val`` evaluates on the validation split (for choosing hyper-parameters); the default
``test`` is the official test set. Runs are resumable: finished pre-trainings and evaluations are
skipped, so a second invocation continues where the first stopped.

    python benchmarks/quality.py --dataset fashion-mnist-lt [--seeds 0 1 2] [--variants ...]
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from matplotlib.figure import Figure

from solo_tase.cli.main import main as cli
from solo_tase.config_folders import config_folder
from solo_tase.data.fashion_mnist import BALANCED_SPLIT
from solo_tase.eval.tail_report import read_estimates
from solo_tase.experiments import find_solo_learn_dir, pretrain_command, run
from solo_tase.run_folder import STATS_FILE, last_checkpoint, run_folder
from solo_tase.settings import replace_block
from solo_tase.utils.atomic import write_text_atomically

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    """One row: a config of scripts/pretrain/<dataset>/, its overrides, the training split."""

    config: str
    overrides: tuple[str, ...] = ()
    train_split: str = "train"  # the dataset folder's training set (train-balanced: balanced)
    gh: bool = False  # the GH block on, its schedule scaled to the run (gh_overrides)

    def all_overrides(self, epochs: int) -> list[str]:
        """The Hydra overrides of this row; a ``method_kwargs`` key is added when the config
        does not list it (``++``: a knob left at its default there, e.g. ``knn_space``)."""
        return [
            f"++{o}" if o.startswith("method_kwargs.") else o
            for o in (*self.overrides, *(gh_overrides(epochs) if self.gh else []))
        ]


def gh_overrides(epochs: int) -> list[str]:
    """GH's official schedule (1000 epochs: warm-up 500, ramp 10, prior every 20, beta 0.999)
    scaled to a run of ``epochs``: the warm-up half the run, the ramp and the prior's period the
    same fractions of it (at least one epoch), and the logits' momentum keeping a memory of the
    whole run, ``1 - (1 - 0.999) * 1000 / epochs`` (at least the warm-up's 0.9)."""
    return [
        "method_kwargs.gh.enabled=True",
        f"method_kwargs.gh.warmup_epochs={epochs // 2}",
        f"method_kwargs.gh.ramp_epochs={max(1, round(epochs / 100))}",
        f"method_kwargs.gh.prior_every={max(1, round(epochs / 50))}",
        f"method_kwargs.gh.beta={max(0.9, 1 - 0.001 * 1000 / epochs):.4g}",
    ]


@dataclass(frozen=True)
class Benchmark:
    """How one dataset folder is built and trained (epochs of the preset)."""

    epochs: int
    build: list[str]  # `solo-tase data build` arguments; {seed} is replaced per seed
    per_seed_data: bool  # a dataset per pre-training seed (class order and draw follow the seed)
    summary: str
    variants: dict[str, Variant] = field(default_factory=dict)
    configs: str = ""  # scripts/pretrain/<configs>/ (default: the benchmark's name)
    data_root: str = ""  # where its data folders are built (default: under the run folder)


def v(config: str, *overrides: str) -> Variant:
    return Variant(config, overrides)


WHITENED = "method_kwargs.knn_space=whitened"  # the density among the whitened bank's rows
CROP1 = "method_kwargs.bank_feature=crop1"  # the bank of the steps' first crops
SIGNALS = ("kmeans", "overcluster", "knn_density", "memorisation")
BALANCED = "simclr (balanced data)"  # the positive control: SimCLR on train-balanced/
LOSS = "method_kwargs.weights_as=loss"  # weights scale the loss (the default before sampling)
FORMULATIONS: dict[str, tuple[str, ...]] = {  # TASE's mechanism options (docs/method.md)
    "": (LOSS,),  # both halves as loss weights: TASE's formulation before the mechanism study
    "temperature only": (LOSS, "method_kwargs.weighting=none"),
    "weights only": (LOSS, "method_kwargs.adaptive_temperature=false"),
    "reversed temperature": (LOSS, "method_kwargs.rare_temperature=high"),
    "milder": (LOSS, "method_kwargs.ref_imbalance=10000", "method_kwargs.gamma=0.25"),
    "stronger": (LOSS, "method_kwargs.ref_imbalance=10", "method_kwargs.gamma=1.0"),
    "compensated": (LOSS, "method_kwargs.temperature_compensation=true"),
    "sampling": ("method_kwargs.weights_as=sampling",),  # the winner, now the default
}
CORE: dict[str, Variant] = {
    "simclr": v("simclr"),
    "ts": v("ts"),
    "sdclr": v("sdclr"),
    "tase": v("tase"),  # knn_density on the clean bank, tau 0.1-0.5, beta 0, gamma 0.5
    "bcl-i": v("bcl"),
    "bcl-d": v("bcl_d"),
    "tase (temperature only)": v("tase", *FORMULATIONS["temperature only"]),
    "tase (weights only)": v("tase", *FORMULATIONS["weights only"]),
    **{
        f"tase ({s})": v("tase", f"method_kwargs.tail_signal={s}")
        for s in SIGNALS
        if s != "knn_density"
    },
    # the density's ranks mapped onto the stated profile (ratio 100, the data's)
    "tase (profile 100)": v("tase", "method_kwargs.score_profile_ratio=100"),
    "tase (score_scale 0.5)": v("tase", "method_kwargs.score_scale=0.5"),
    "tase (score_scale 2)": v("tase", "method_kwargs.score_scale=2.0"),
    "tase (score_scale 3)": v("tase", "method_kwargs.score_scale=3.0"),  # class-level slope ~1
    "tase (whitened)": v("tase", WHITENED),
    "tase (whitened, score_scale 3)": v("tase", WHITENED, "method_kwargs.score_scale=3.0"),
    # the earlier default (the crop-1 bank): the first validation sweep and the seed-0 ablations
    "tase (bank crop1)": v("tase", CROP1),
    "tase (bank crop1, tau 0.05-1.0)": v(
        "tase", CROP1, "method_kwargs.tau_min=0.05", "method_kwargs.tau_max=1.0"
    ),
    "tase (bank crop1, beta 0.5)": v("tase", CROP1, "method_kwargs.beta=0.5"),
    "tase (bank crop1, gamma 1)": v("tase", CROP1, "method_kwargs.gamma=1.0"),
    "tase (bank crop1, knn_k 5N/K)": v("tase", CROP1, "method_kwargs.knn_k=1239"),  # 3N/K = 743
    "tase (bank crop1, temperature only)": v("tase", CROP1, "method_kwargs.weighting=none"),
    "tase (bank crop1, weights only)": v("tase", CROP1, "method_kwargs.adaptive_temperature=false"),
    **{
        f"tase (bank crop1, {s})": v("tase", CROP1, f"method_kwargs.tail_signal={s}")
        for s in SIGNALS
    },
}
CONTROL: dict[str, Variant] = {BALANCED: Variant("simclr", (), BALANCED_SPLIT)}
ORACLE = "method_kwargs.tail_signal=oracle"  # the labels' class counts: a measurement device
MECHANISM: dict[str, Variant] = {  # each formulation with a perfect tail signal
    f"tase (oracle{', ' + name if name else ''})": v("tase", ORACLE, *overrides)
    for name, overrides in FORMULATIONS.items()
}
# The oracle made worse in a controlled way: how good must a signal be? On the preset's profile
# (10 classes, ratio 100) the noise levels give a rho of about 0.82, 0.63, 0.40 and 0.21.
ORACLE_NOISE = (0.5, 1.0, 2.0, 4.5)
ORACLE_IMBALANCE = (2, 5, 20)  # the head / tail ratio the oracle carries (the true one is 100)
DEGRADED: dict[str, Variant] = {
    **{
        f"tase (oracle, noise {s})": v("tase", ORACLE, f"method_kwargs.oracle_noise={s}")
        for s in ORACLE_NOISE
    },
    **{
        f"tase (oracle, ratio {r})": v("tase", ORACLE, f"method_kwargs.oracle_imbalance={r}")
        for r in ORACLE_IMBALANCE
    },
}
FORMULATION: dict[str, Variant] = {  # each formulation with the default (unsupervised) signal
    f"tase ({name})": v("tase", *overrides) for name, overrides in FORMULATIONS.items() if name
}
GH: dict[str, Variant] = {  # Geometric Harmonization on four methods
    f"{name} + gh": Variant(config, gh=True)
    for name, config in (
        ("simclr", "simclr_plus"),
        ("sdclr", "sdclr"),
        ("bcl-d", "bcl_d"),
        ("tase", "tase"),
    )
}


def fashion_preset(epochs: int, n_max: int, variants: dict[str, Variant]) -> Benchmark:
    """A Fashion-MNIST-LT preset: ratio 100, ``n_max`` head images, the probe set as large as the
    head class, class order and draw by seed, the balanced twin; data shared by every preset of
    the same ``n_max`` (``runs/data/fashion-mnist-lt-n<n_max>``)."""
    return Benchmark(
        epochs=epochs,
        per_seed_data=True,
        build=fashion_build(n_max),
        summary=f"Fashion-MNIST-LT ratio 100, n_max {n_max} ({n_max} probe images per class / "
        "1,000 val / 10,000 test; class order and draw follow the pre-training seed)",
        variants=variants,
        configs="fashion-mnist-lt",
        data_root=f"runs/data/fashion-mnist-lt-n{n_max}",
    )


def preset_name(epochs: int, n_max: int) -> str:
    """``fashion-mnist-lt`` for the 20-epoch CPU preset, else ``fashion-mnist-lt-e<E>-n<N>``."""
    return (
        "fashion-mnist-lt"
        if (epochs, n_max) == (20, 1000)
        else f"fashion-mnist-lt-e{epochs}-n{n_max}"
    )


def run_name(dataset: str, epochs: int) -> str:
    """The name of a run folder (``runs/bench-<name>``) and of its table: the dataset for its
    preset's length, else one per length, so runs of different lengths never share a folder or
    a table (Fashion-MNIST-LT's are those of ``headroom.py``: ``fashion-mnist-lt-e60-n1000``)."""
    if dataset == "fashion-mnist-lt":
        return preset_name(epochs, 1000)
    return dataset if epochs == BENCHMARKS[dataset].epochs else f"{dataset}-e{epochs}"


def fashion_build(n_max: int) -> list[str]:
    """`solo-tase data build` arguments of a Fashion-MNIST-LT preset (see fashion_preset)."""
    return [
        "fashion-mnist-lt",
        "--n-max",
        str(n_max),
        "--probe-per-class",
        str(n_max),
        "--class-order",
        "random:{seed}",
        "--seed",
        "{seed}",
        "--balanced-train",
    ]


BENCHMARKS: dict[str, Benchmark] = {
    "digits-lt": Benchmark(
        epochs=80,
        build=["digits-lt"],
        per_seed_data=False,
        summary="Digits-LT ratio 10 (503 train / 1,240 probe / 500 test images)",
        variants={**CORE, "random init": v("simclr", "+limit_train_batches=1")},
    ),
    "fashion-mnist-lt": fashion_preset(
        20, 1000, {**CONTROL, **CORE, **FORMULATION, **MECHANISM, **DEGRADED, **GH}
    ),
}
PROTOCOLS: dict[str, list[str]] = {
    "linear": [],
    "linear 10-shot": ["--shots", "10", "--seeds", "0", "1", "2"],
    "knn": ["--protocol", "knn"],
}
KEYS = ("many", "medium", "few", "std", "all")
RESULTS_MD = REPO / "docs" / "results.md"


def slug(variant: str) -> str:
    out = variant.replace(" ", "-").replace("/", "-")
    return out.replace("(", "").replace(")", "").replace(",", "")


def build_data(bench: Benchmark, seed: int, root: Path) -> Path:
    """Build (or reuse) the dataset of ``seed`` under ``root/data``; returns its folder."""
    source = bench.build[0]  # the `data build` source: digits-lt, fashion-mnist-lt
    folder = root / "data" / (f"{source}-s{seed}" if bench.per_seed_data else source)
    args = [a.replace("{seed}", str(seed)) for a in bench.build]
    if cli(["data", "build", *args, "--out", str(folder)]) != 0:
        raise RuntimeError(f"`solo-tase data build {' '.join(args)}` failed")
    return folder


def resume_point(run_out: Path) -> Path | None:
    """The newest checkpoint an interrupted pre-training left in ``run_out``, if any."""
    found = sorted(run_out.glob("*/*/*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def pretrain(
    name: str,
    variant: Variant,
    config_dir: Path,
    seed: int,
    epochs: int,
    out: Path,
    solo_dir: Path,
    data: Path,
) -> tuple[Path, float]:
    """Pre-train one run; returns (checkpoint, seconds). A finished run is skipped; an interrupted
    one resumes from its last checkpoint (the configs' ``checkpoint.frequency`` is 1: every epoch;
    the seconds of every attempt are added up; an attempt killed outright records none, so such a
    run's time undercounts). The run must end with a checkpoint of its last epoch (solo-learn
    saves nothing when training ends): anything else is an error."""
    run_out = out / "pretrain" / f"{slug(name)}-s{seed}"
    done = run_out / "done.json"
    n_epochs = 1 if "+limit_train_batches=1" in variant.overrides else epochs
    if done.is_file():
        record = json.loads(done.read_text())
        if record.get("epochs", n_epochs) != n_epochs:  # records before 2026-12-07 have none
            raise RuntimeError(
                f"{done} is a run of {record['epochs']} epochs, not {n_epochs}: give runs of "
                "another length their own folder (--out)"
            )
        return Path(record["checkpoint"]), record["seconds"]
    overrides = [
        f"max_epochs={n_epochs}",
        f"seed={seed}",
        f"data.train_path={data / variant.train_split}",
        *variant.all_overrides(n_epochs),
    ]
    resume = resume_point(run_out)
    if resume is not None:
        # quoted: checkpoint names hold "=" (ep=40), which Hydra's override grammar refuses
        overrides.append(f"resume_from_checkpoint='{resume}'")
    attempts = run_out / "attempts.json"
    earlier = json.loads(attempts.read_text()) if attempts.is_file() else []
    cmd = pretrain_command(solo_dir, config_dir, variant.config, run_out, overrides)
    # a fresh log per attempt (pretrain.log, pretrain1.log, ...): an attempt killed outright
    # records no time, but its log stays
    log = next(
        path for i in itertools.count() if not (path := run_out / f"pretrain{i or ''}.log").exists()
    )
    print(
        f"[quality] pre-training {name} seed {seed} ({n_epochs} epochs"
        + (f", resumed from {resume.name}" if resume else "")
        + f"; log {log})",
        flush=True,
    )
    start = time.perf_counter()
    try:
        seconds = run(cmd, cwd=solo_dir, log=log)
    finally:  # an interrupted attempt still counts towards the run's time
        if not done.is_file():
            write_text_atomically(attempts, json.dumps([*earlier, time.perf_counter() - start]))
    seconds = sum(json.loads(attempts.read_text()))
    method = yaml.safe_load((config_dir / f"{variant.config}.yaml").read_text())["method"]
    ckpt = last_checkpoint(run_folder(run_out, method))  # bcl_d's method is sdclr
    epoch = torch.load(ckpt, map_location="cpu", weights_only=False)["epoch"]
    if epoch != n_epochs - 1:
        raise RuntimeError(
            f"{ckpt} is of epoch {epoch}, not of the last epoch {n_epochs - 1}: the config's "
            "checkpoint.frequency must divide max_epochs - 1 (use 1)"
        )
    record = {"checkpoint": str(ckpt), "seconds": seconds, "epochs": n_epochs}
    write_text_atomically(done, json.dumps(record))
    return ckpt, seconds


def evaluate(ckpt: Path, protocol: str, data: Path, split: str) -> dict:
    """``solo-tase eval`` of ``ckpt`` on ``data/<split>`` (cached in the run's eval folder);
    returns its metrics document (``metrics``, ``per_class``, ...)."""
    result = ckpt.parent / ("eval" if split == "test" else f"eval-{split}") / slug(protocol)
    if not (result / "metrics.json").is_file():
        code = cli(
            [
                "eval",
                str(ckpt),
                "--probe-set",
                str(data / "probe"),
                "--test-set",
                str(data / split),
                "--manifest",
                str(data / "manifest.json"),
                "--num-workers",
                "0",
                "--out",
                str(result),
                "--replace",
                *PROTOCOLS[protocol],
            ]
        )
        if code != 0:
            raise RuntimeError(f"solo-tase eval failed for {ckpt} ({protocol})")
    return json.loads((result / "metrics.json").read_text())


def tase_diagnostics(ckpt: Path) -> dict | None:
    """TASE's last re-clustering record (solo_tase_stats.jsonl), if the run is a TASE run."""
    if not (ckpt.parent / STATS_FILE).is_file():
        return None
    reclustered = read_estimates(ckpt.parent)
    if not reclustered:
        return None
    keys = (
        "nmi",
        "rho",
        "recovered_imbalance",
        "true_imbalance",
        "tau_mean",
        "w_max",
        "tau_few",
        "tau_many",
        "w_few",
        "w_many",
    )
    last = reclustered[-1]
    return {k: last.get(k) for k in keys} | {
        "rho_min": min((x["rho"] for x in reclustered if x.get("rho") is not None), default=None)
    }


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def oracle_twin(variant: str, variants: dict[str, Variant]) -> str | None:
    """The row that differs from the TASE row ``variant`` only by the oracle tail signal
    (``tase`` -> ``tase (oracle)``, ``tase (compensated)`` -> ``tase (oracle, compensated)``,
    ``tase (kmeans)`` -> ``tase (oracle)``); None for other rows and where no such row exists."""
    mine = variants.get(variant)
    if mine is None or mine.config != "tase" or ORACLE in mine.overrides:
        return None
    signal = "method_kwargs.tail_signal="
    rest = {o for o in mine.overrides if not o.startswith(signal)} | {ORACLE}
    for name, other in variants.items():
        if (other.config, other.train_split, other.gh) == (mine.config, mine.train_split, mine.gh):
            if set(other.overrides) == rest:
                return name
    return None


def table(rows: dict, protocol: str, variants: dict[str, Variant], rule: str = "ci") -> list[str]:
    """Markdown: mean +- std per variant, then the paired difference against SimCLR with its 95%
    t-interval (with the headroom recovered, where the headroom is clear by ``rule``, and, for
    TASE rows with an estimated signal, the signal efficiency)."""
    lines = [
        f"**{protocol}** (mean ± std over pre-training seeds; accuracy in %, Std = population "
        "std of the three group accuracies, lower is better)",
        "",
        "| method | Many | Medium | Few | Std | All | pre-training (min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, runs in rows.items():
        cells = [mean_std([r["metrics"][protocol][k] for r in runs]) for k in KEYS]
        minutes = statistics.mean(r["seconds"] for r in runs) / 60
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {minutes:.1f} |")
    base = {r["seed"]: r for r in rows.get("simclr", [])}
    paired = [
        (v, runs)
        for v, runs in rows.items()
        if v != "simclr" and any(r["seed"] in base for r in runs)
    ]
    if not (base and paired):
        return lines + [""]

    def diffs(runs: list[dict], key: str) -> list[float]:
        return [
            r["metrics"][protocol][key] - base[r["seed"]]["metrics"][protocol][key]
            for r in runs
            if r["seed"] in base
        ]

    headroom = diffs(rows.get(BALANCED, []), "few")
    lines += [
        "",
        "Paired difference against SimCLR (same seed and data; mean ± half-width of the 95% "
        "t-interval over seeds, points of %; **bold**: the interval excludes 0). *Headroom "
        "recovered* = mean (method - SimCLR) / mean (balanced SimCLR - SimCLR) on Few, only "
        f"where that headroom is clear ({CLEAR_TEXT[rule]}); *signal efficiency*"
        " (TASE with an estimated signal) = mean (TASE - SimCLR) / mean "
        "(the same TASE with the oracle signal - SimCLR) on Few, both over the seeds they share, "
        "only where the oracle gains:",
        "",
        "| method | Many | Medium | Few | Std | All | headroom recovered (Few) | "
        "signal efficiency (Few) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, runs in paired:
        cells = [mean_ci(diffs(runs, k)) for k in KEYS]
        few = diffs(runs, "few")
        recovered = (
            "1"
            if variant == BALANCED
            else ratio(few, headroom)
            if clear(headroom, rule)
            else "- (headroom not clear)"
        )
        twin = oracle_twin(variant, variants)
        oracle = diffs(rows.get(twin, []), "few") if twin else []
        signal = (
            ""
            if twin is None
            else "-"
            if not oracle
            else ratio(few, oracle)
            if statistics.mean(oracle) > 0
            else "- (oracle gains nothing)"
        )
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {recovered} | {signal} |")
    return lines + [""]


CLEAR_RULES = ("ci", "2std")  # ci: the 95% t-interval excludes 0; 2std: the stricter old rule
CLEAR_TEXT = {"ci": "its 95% t-interval above 0", "2std": "mean above twice its std"}


def t_halfwidth(values: list[float]) -> float:
    """Half-width of the 95% t-interval of the mean of ``values`` (2 or more), same units."""
    from scipy.stats import t

    n = len(values)
    return float(t.ppf(0.975, n - 1)) * statistics.stdev(values) / math.sqrt(n)


def clear(values: list[float], rule: str = "ci") -> bool:
    """A paired difference (2+ seeds) is clearly positive: its 95% t-interval lies above 0
    (``ci``), or its mean exceeds twice its std over seeds (``2std``, the stricter rule)."""
    if len(values) < 2:
        return False
    mean = statistics.mean(values)
    if rule == "2std":
        return mean > 2 * statistics.stdev(values)
    if rule != "ci":
        raise ValueError(f"clear rule must be one of {CLEAR_RULES}, got {rule!r}")
    return mean - t_halfwidth(values) > 0


def mean_ci(values: list[float]) -> str:
    """``mean ± half-width of the 95% t-interval`` (points), bold when the interval excludes 0;
    the value alone for one seed."""
    if len(values) == 1:
        return f"{values[0]:+.2f}"
    mean, half = statistics.mean(values), t_halfwidth(values)
    cell = f"{mean:+.2f} ± {half:.2f}"
    return f"**{cell}**" if abs(mean) > half else cell


def ratio(num: list[float], den: list[float]) -> str:
    """mean(num) / mean(den), or '-' when either is missing or the denominator is 0."""
    if not num or not den or statistics.mean(den) == 0:
        return "-"
    return f"{statistics.mean(num) / statistics.mean(den):+.2f}"


def diagnostics_table(rows: dict) -> list[str]:
    diag = [
        (v, [r["diagnostics"] for r in runs if r.get("diagnostics")]) for v, runs in rows.items()
    ]
    diag = [(v, d) for v, d in diag if d]
    if not diag:
        return []
    lines = [
        "TASE's tail signal at the last re-clustering (mean over seeds; rho = Spearman "
        "correlation of each sample's estimated frequency with its true class count, rho min "
        "= lowest over the run's re-clusterings; imbalance recovered / true):",
        "",
        "| variant | NMI | rho (last / min) | imbalance | tau Many / Few | w Many / Few |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]

    def avg(d: list[dict], k: str) -> float:
        vals = [x[k] for x in d if x.get(k) is not None]
        return statistics.mean(vals) if vals else float("nan")

    for v, d in diag:
        lines.append(
            f"| {v} | {avg(d, 'nmi'):.3f} | {avg(d, 'rho'):+.2f} / {avg(d, 'rho_min'):+.2f}"
            f" | {avg(d, 'recovered_imbalance'):.1f} / {avg(d, 'true_imbalance'):.0f} | "
            f"{avg(d, 'tau_many'):.3f} / {avg(d, 'tau_few'):.3f} | "
            f"{avg(d, 'w_many'):.2f} / {avg(d, 'w_few'):.2f} |"
        )
    return lines + [""]


def signal_by_order(rows: dict, protocol: str = "linear 10-shot") -> list[str]:
    """Markdown: per TASE row and class order (seed), the signal's quality at the last estimate
    beside the paired Few / All difference against SimCLR on ``protocol`` (points)."""
    base = {r["seed"]: r["metrics"].get(protocol) for r in rows.get("simclr", [])}
    lines = [
        f"Signal quality and gain per class order (paired against SimCLR, {protocol}, points):",
        "",
        "| variant | order | rho (last / min) | imbalance recovered | w Few / Many | Few | All |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    found = False
    for variant, runs in rows.items():
        for r in sorted(runs, key=lambda r: r["seed"]):
            d, mine, simclr = r.get("diagnostics"), r["metrics"].get(protocol), base.get(r["seed"])
            if not d or mine is None or simclr is None or d.get("rho") is None:
                continue
            found = True
            lines.append(
                f"| {variant} | {r['seed']} | {d['rho']:+.2f} / {d['rho_min']:+.2f} | "
                f"{d['recovered_imbalance']:.1f} / {d['true_imbalance']:.0f} | "
                f"{d['w_few']:.2f} / {d['w_many']:.2f} | "
                f"{mine['few'] - simclr['few']:+.2f} | {mine['all'] - simclr['all']:+.2f} |"
            )
    return lines + [""] if found else []


def write_markdown(
    rows: dict, args: argparse.Namespace, bench: Benchmark, elapsed_min: float
) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        f"Measured on {datetime.date.today().isoformat()} ({cpu}, {torch.get_num_threads()} "
        f"threads, torch {torch.__version__}); {args.epochs or bench.epochs} pre-training "
        f"epochs, seeds {args.seeds}, {bench.summary}; evaluated on the {args.split} split; "
        f"this invocation {elapsed_min:.0f} min. Command: `python "
        f"{shlex.join(['benchmarks/' + Path(sys.argv[0]).name, *sys.argv[1:]])}`.",
        "",
    ]
    suffix = "" if args.split == "test" else f"-{args.split}"
    for protocol in args.protocols:
        lines += table(rows, protocol, bench.variants, args.clear_rule)
        image = f"img/quality-{args.table}{suffix}-{slug(protocol)}.png"
        if plot_by_rank(rows, protocol, REPO / "docs" / image):
            lines += [f"![{protocol}: accuracy per class by frequency rank]({image})", ""]
    return "\n".join(lines + diagnostics_table(rows) + signal_by_order(rows))


def plot_by_rank(rows: dict, protocol: str, path: Path) -> bool:
    """Accuracy (%) of each class by its frequency rank in the training set (1 = head), mean
    over seeds, one line per row (beyond 10 rows, the ablations, named with "(", are left out);
    False when there is nothing to plot. By rank, not by class: every seed ranks the classes in
    its own order."""
    lines = {}
    for variant, runs in rows.items():
        ablation = len(rows) > 10 and "(" in variant
        if ablation or not all(protocol in r.get("per_class", {}) for r in runs):
            continue
        by_rank = [
            [
                c["accuracy"]
                for c in sorted(r["per_class"][protocol], key=lambda c: -c["train_count"])
            ]
            for r in runs
        ]
        lines[variant] = [statistics.mean(acc) for acc in zip(*by_rank, strict=True)]
    if not lines:
        return False
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    for variant, acc in lines.items():
        ax.plot(range(1, len(acc) + 1), acc, marker="o", label=variant)
    ax.set(
        xlabel="class frequency rank in the training set (1 = head)",
        ylabel="accuracy (%)",
        title=f"{protocol}: per-class accuracy (mean over pre-training seeds)",
    )
    ax.legend()
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return True


HISTORY_HEADING = "## History: superseded measurements"  # docs/results.md: below it, history


def update_results_md(dataset: str, split: str, section: str, kind: str = "quality") -> None:
    """Replace the ``<kind>:<dataset>[:<split>]`` block of docs/results.md; a new block gets a
    section of its own at the end of the current results (before the history heading, if any)."""
    tag = f"{kind}:{dataset}" + ("" if split == "test" else f":{split}")
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    text = RESULTS_MD.read_text() if RESULTS_MD.is_file() else ""
    try:
        text = replace_block(text, tag, section + "\n")
    except ValueError:  # no block yet
        new = f"## {kind.capitalize()} on {dataset} ({split} split)\n\n{begin}\n{section}\n{end}\n"
        current, history, past = text.partition(HISTORY_HEADING)
        text = f"{current}{new}\n{history}{past}" if history else f"{text}\n{new}"
    write_text_atomically(RESULTS_MD, text)


@dataclass
class Progress:
    """Prints how many pre-trainings are left and, from the seconds per image-epoch measured so
    far, about how long they will take."""

    left: list[tuple[str, int, int]]  # (variant, seed, image-epochs) not yet pre-trained
    seconds: float = 0.0
    image_epochs: int = 0

    def done(self, variant: str, seed: int, seconds: float, fresh: bool) -> None:
        for item in self.left:
            if item[:2] == (variant, seed):
                self.left.remove(item)
                if fresh:
                    self.seconds += seconds
                    self.image_epochs += item[2]
                break
        if not fresh:
            return
        rest = sum(x[2] for x in self.left)
        eta = f"about {rest * self.seconds / self.image_epochs / 60:.0f} min" if rest else "none"
        print(
            f"[quality] {len(self.left)} pre-training(s) left; time left: {eta} "
            "(pre-training only, at this invocation's speed)",
            flush=True,
        )


def train_size(data: Path, variant: Variant) -> int:
    """Images in the variant's training split of the dataset folder ``data``."""
    return sum(1 for _ in (data / variant.train_split).glob("*/*.png"))


def collect(
    bench: Benchmark,
    dataset: str,
    variants: list[str],
    args: argparse.Namespace,
    out: Path,
) -> tuple[dict[str, list[dict]], list[str]]:
    """Pre-train (or reuse) and evaluate every (variant, seed); returns the rows per variant and
    the pairs left out (``--no-train``). Seeds outermost: a partial run covers every variant."""
    solo_dir = find_solo_learn_dir()
    epochs = args.epochs or bench.epochs
    config_dir = config_folder("pretrain", bench.configs or dataset)
    root = Path(bench.data_root).resolve() if bench.data_root else out
    datas = {seed: build_data(bench, seed, root) for seed in args.seeds}
    for data in datas.values():
        if not (data / args.split).is_dir():
            raise SystemExit(
                f"--split {args.split}: {data} has no {args.split}/ folder (Digits-LT has no "
                "validation split; use --split test or --dataset fashion-mnist-lt)"
            )
    plan = [
        (variant, seed)
        for seed in args.seeds
        for variant in variants
        if variant != "random init" or seed == args.seeds[0]
    ]

    def finished(variant: str, seed: int) -> bool:
        return (out / "pretrain" / f"{slug(variant)}-s{seed}" / "done.json").is_file()

    progress = Progress(
        [
            (vr, sd, epochs * train_size(datas[sd], bench.variants[vr]))
            for vr, sd in plan
            if not finished(vr, sd) and not args.no_train
        ]
    )
    rows: dict[str, list[dict]] = {}
    missing: list[str] = []
    for variant, seed in plan:
        fresh = not finished(variant, seed)
        if args.no_train and fresh:
            print(f"[quality] {variant} seed {seed}: not pre-trained, left out", flush=True)
            missing.append(f"{variant} seed {seed}")
            continue
        ckpt, seconds = pretrain(
            variant, bench.variants[variant], config_dir, seed, epochs, out, solo_dir, datas[seed]
        )
        progress.done(variant, seed, seconds, fresh)
        docs = {proto: evaluate(ckpt, proto, datas[seed], args.split) for proto in args.protocols}
        metrics = {proto: doc["metrics"] for proto, doc in docs.items()}
        rows.setdefault(variant, []).append(
            {
                "seed": seed,
                "seconds": seconds,
                "metrics": metrics,
                "per_class": {proto: doc["per_class"] for proto, doc in docs.items()},
                "diagnostics": tase_diagnostics(ckpt),
            }
        )
        lin = metrics.get("linear") or next(iter(metrics.values()))
        print(
            f"[quality] {variant} seed {seed}: All {lin['all']:.2f} Few {lin['few']:.2f} "
            f"({seconds / 60:.1f} min pre-training)",
            flush=True,
        )
    return rows, missing


def add_options(p: argparse.ArgumentParser) -> None:
    """The options quality.py and headroom.py share."""
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    p.add_argument("--split", choices=("test", "val"), default="test")
    p.add_argument("--no-docs", action="store_true", help="do not update docs/results.md")
    p.add_argument(
        "--clear-rule",
        choices=CLEAR_RULES,
        default="ci",
        help="when a headroom is clear: ci (its 95%% t-interval is above 0) or 2std (the "
        "stricter: its mean exceeds twice its std)",
    )
    p.add_argument(
        "--no-train",
        action="store_true",
        help="tabulate the finished pre-trainings only (evaluating them if needed); say which "
        "(variant, seed) pairs are missing",
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dataset", choices=list(BENCHMARKS), default="fashion-mnist-lt")
    p.add_argument("--epochs", type=int, default=None, help="default: the dataset's preset")
    p.add_argument("--variants", nargs="+", default=None, help="default: all of the dataset's")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default: runs/bench-<dataset> at the preset's length, else one folder per length "
        "(runs/bench-fashion-mnist-lt-e60-n1000, runs/bench-digits-lt-e40)",
    )
    p.add_argument(
        "--table",
        default=None,
        help="the results table written: benchmarks/results/quality_<table>[_<split>].json and "
        "the quality:<table>[:<split>] block of docs/results.md (default: the run folder's "
        "name, the dataset at the preset's length)",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace a table even when it has rows this invocation does not produce",
    )
    add_options(p)
    args = p.parse_args()
    bench = BENCHMARKS[args.dataset]
    variants = args.variants or list(bench.variants)
    unknown = sorted(set(variants) - set(bench.variants))
    if unknown:
        p.error(f"unknown variants {unknown}; {args.dataset} has {list(bench.variants)}")
    name = run_name(args.dataset, args.epochs or bench.epochs)
    table_name = args.table = args.table or name
    suffix = "" if args.split == "test" else f"_{args.split}"
    results = REPO / "benchmarks" / "results" / f"quality_{table_name}{suffix}.json"
    if results.is_file() and not args.replace:
        lost = sorted(set(json.loads(results.read_text())) - set(variants))
        if lost:
            p.error(
                f"{results} has rows this invocation would drop: {lost}; pass --table <name> "
                "to write a table of its own, or --replace to replace it"
            )
    start = time.perf_counter()
    out = (args.out or Path(f"runs/bench-{name}")).resolve()
    rows, missing = collect(bench, args.dataset, variants, args, out)
    section = write_markdown(rows, args, bench, (time.perf_counter() - start) / 60)
    if missing:
        section += "\nNot pre-trained in this table (left out): " + ", ".join(missing) + ".\n"
    print(section)
    write_text_atomically(results, json.dumps(rows, indent=2))
    if not args.no_docs:
        update_results_md(table_name, args.split, section)


if __name__ == "__main__":
    main()
