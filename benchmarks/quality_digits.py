"""Quality benchmark on Digits-LT: SimCLR, TS, SDCLR, TASE and two TASE ablations, 3 seeds each.

Every variant is pre-trained through solo-learn's ``main_pretrain.py`` with the same backbone,
crops, optimiser and epochs (``scripts/pretrain/digits-lt/<method>.yaml``, only the pre-training
seed changes), then evaluated with the same ``solo-tase eval`` protocols: the full-shot linear probe,
a 10-shot linear probe (3 draws) and weighted kNN. A "random init" row evaluates a network after
one SGD step, to show what pre-training adds. The script writes a Markdown table of mean +- std
(over the pre-training seeds) of Many / Medium / Few / Std / All and the pre-training wall time of
each variant, with TASE's pseudo-label diagnostics, into docs/results.md (between the
``quality`` markers) and benchmarks/results/quality_digits.json. Hyper-parameters are the configs'
defaults: nothing is tuned on the test split. Runs are resumable (finished steps are skipped).

    python benchmarks/quality_digits.py [--epochs 80] [--seeds 0 1 2] [--out runs/bench-quality]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
from pathlib import Path

import torch

from solo_tase.cli.main import main as cli
from solo_tase.experiments import (
    PRETRAIN_CONFIGS,
    REPO,
    find_solo_learn_dir,
    last_checkpoint,
    pretrain_command,
    run,
    run_folder,
)

# variant -> (config, extra overrides)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "simclr": ("simclr", []),
    "ts": ("ts", []),
    "sdclr": ("sdclr", []),
    "tase": ("tase", []),
    "tase (temperature only)": ("tase", ["method_kwargs.weighting=none"]),
    "tase (weights only)": ("tase", ["method_kwargs.adaptive_temperature=false"]),
    "random init": ("simclr", ["+limit_train_batches=1"]),  # one SGD step, 1 epoch
}
PROTOCOLS: dict[str, list[str]] = {
    "linear": [],
    "linear 10-shot": ["--shots", "10", "--seeds", "0", "1", "2"],
    "knn": ["--protocol", "knn"],
}
KEYS = ("many", "medium", "few", "std", "all")
RESULTS_MD = REPO / "docs" / "results.md"
MARK_BEGIN, MARK_END = "<!-- quality:begin -->", "<!-- quality:end -->"


def slug(variant: str) -> str:
    return variant.replace(" ", "-").replace("(", "").replace(")", "")


def pretrain(variant: str, seed: int, epochs: int, out: Path, solo_dir: Path,
             data: Path) -> tuple[Path, float]:
    """Pre-train one (variant, seed); returns (checkpoint, seconds). Skips finished runs."""
    config, extra = VARIANTS[variant]
    run_out = out / "pretrain" / f"{slug(variant)}-s{seed}"
    done = run_out / "done.json"
    if done.is_file():
        record = json.loads(done.read_text())
        return Path(record["checkpoint"]), record["seconds"]
    n_epochs = 1 if variant == "random init" else epochs
    overrides = [f"max_epochs={n_epochs}", f"seed={seed}",
                 f"checkpoint.frequency={max(1, n_epochs - 1)}", f"data.train_path={data / 'train'}",
                 *extra]
    cmd = pretrain_command(solo_dir, PRETRAIN_CONFIGS / "digits-lt", config, run_out, overrides)
    seconds = run(cmd, cwd=solo_dir, log=run_out / "pretrain.log")
    ckpt = last_checkpoint(run_folder(run_out, config))
    done.write_text(json.dumps({"checkpoint": str(ckpt), "seconds": seconds}))
    return ckpt, seconds


def evaluate(ckpt: Path, protocol: str, data: Path, out: Path) -> dict:
    result = out / protocol.replace(" ", "-")
    if not (result / "metrics.json").is_file():
        code = cli(["eval", str(ckpt), "--probe-set", str(data / "probe"), "--test-set",
                    str(data / "test"), "--manifest", str(data / "manifest.json"),
                    "--num-workers", "0", "--out", str(result), "--replace",
                    *PROTOCOLS[protocol]])
        if code != 0:
            raise RuntimeError(f"solo-tase eval failed for {ckpt} ({protocol})")
    return json.loads((result / "metrics.json").read_text())


def tase_diagnostics(ckpt: Path) -> dict | None:
    stats = ckpt.parent / "solo_tase_stats.jsonl"
    if not stats.is_file():
        return None
    lines = [json.loads(x) for x in stats.read_text().splitlines()]
    last = [x for x in lines if x.get("reclustered")]
    if not last:
        return None
    s = last[-1]
    return {"nmi": s.get("nmi"), "tau_min": s["tau_min"], "tau_mean": s["tau_mean"],
            "tau_max": s["tau_max"], "w_max": s["w_max"], "imbalance": s["imbalance"]}


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def table(rows: dict, protocol: str) -> list[str]:
    lines = [f"**{protocol}** (mean ± std over pre-training seeds; accuracy in %, Std = population "
             "std of the three group accuracies, lower is better)", "",
             "| method | Many | Medium | Few | Std | All | pre-training (min) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for variant, runs in rows.items():
        cells = [mean_std([r["metrics"][protocol][k] for r in runs]) for k in KEYS]
        minutes = statistics.mean(r["seconds"] for r in runs) / 60
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {minutes:.1f} |")
    return lines + [""]


def write_markdown(rows: dict, args: argparse.Namespace, elapsed_min: float) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [f"Measured on {datetime.date.today().isoformat()} on this project's CPU machine "
             f"({cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}); "
             f"{args.epochs} pre-training epochs, seeds {args.seeds}, Digits-LT ratio 10 "
             f"(503 train / 1,240 probe / 500 test images); whole benchmark {elapsed_min:.0f} min. "
             "Command: `python benchmarks/quality_digits.py`.", ""]
    for protocol in PROTOCOLS:
        lines += table(rows, protocol)
    diag = [(v, [r["diagnostics"] for r in runs if r.get("diagnostics")]) for v, runs in rows.items()]
    diag = [(v, d) for v, d in diag if d]
    if diag:
        lines += ["TASE's pseudo-labels at the last re-clustering (mean over seeds):", "",
                  "| variant | NMI vs labels | pseudo-label imbalance | tau min / mean / max | max w |",
                  "| --- | ---: | ---: | --- | ---: |"]
        for v, d in diag:
            m = {k: statistics.mean(x[k] for x in d) for k in d[0] if d[0][k] is not None}
            lines.append(f"| {v} | {m.get('nmi', float('nan')):.3f} | {m['imbalance']:.1f} | "
                         f"{m['tau_min']:.3f} / {m['tau_mean']:.3f} / {m['tau_max']:.3f} | "
                         f"{m['w_max']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def update_results_md(section: str) -> None:
    text = RESULTS_MD.read_text() if RESULTS_MD.is_file() else ""
    block = f"{MARK_BEGIN}\n{section}\n{MARK_END}"
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text + ("\n" if text else "") + "## Quality on Digits-LT\n\n" + block + "\n"
    RESULTS_MD.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--out", type=Path, default=Path("runs/bench-quality"))
    p.add_argument("--no-docs", action="store_true", help="do not update docs/results.md")
    args = p.parse_args()
    import time

    start = time.perf_counter()
    solo_dir = find_solo_learn_dir()
    out = args.out.resolve()
    data = out / "data" / "digits-lt"
    cli(["data", "build", "digits-lt", "--out", str(data)])
    rows: dict[str, list[dict]] = {}
    for seed in args.seeds:  # seeds outermost: a partial run already covers every variant
        for variant in args.variants:
            if variant == "random init" and seed != args.seeds[0]:
                continue
            ckpt, seconds = pretrain(variant, seed, args.epochs, out, solo_dir, data)
            metrics = {proto: evaluate(ckpt, proto, data, ckpt.parent / "eval")["metrics"]
                       for proto in PROTOCOLS}
            rows.setdefault(variant, []).append({"seed": seed, "seconds": seconds,
                                                 "metrics": metrics,
                                                 "diagnostics": tase_diagnostics(ckpt)})
            print(f"[quality] {variant} seed {seed}: linear All "
                  f"{metrics['linear']['all']:.2f} Few {metrics['linear']['few']:.2f} "
                  f"({seconds / 60:.1f} min)", flush=True)
    elapsed = (time.perf_counter() - start) / 60
    section = write_markdown(rows, args, elapsed)
    print(section)
    (REPO / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (REPO / "benchmarks" / "results" / "quality_digits.json").write_text(json.dumps(rows, indent=2))
    if not args.no_docs:
        update_results_md(section)


if __name__ == "__main__":
    main()
