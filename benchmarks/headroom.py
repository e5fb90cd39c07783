"""Headroom: what long-tailed data costs SimCLR, per group, by pre-training length and data size.

The positive control of every long-tailed method: SimCLR pre-trained on a *balanced* training set
of the same size, drawn from the same pool outside val / probe / test
(``solo-tase data build fashion-mnist-lt --balanced-train``), minus SimCLR pre-trained on the
long-tailed set, both evaluated with the long-tailed seed's probe set, test (or val) set and
Many / Medium / Few groups. Paired per seed; every seed is its own class order. A long-tailed
method can only show a tail gain where this headroom on Few exceeds twice its spread over seeds.

A regime is ``EPOCHSxN_MAX`` (``60x1000``: 60 epochs, head class of 1,000 images, probe set of
1,000 images per class). Every regime's runs are those of the quality benchmark's preset of the
same name (``quality.preset_name``), so the chosen regime's SimCLR and balanced SimCLR rows are
reused by ``quality.py``. Resumable like quality.py; prints progress and the time left. Writes
benchmarks/results/headroom_fashion-mnist-lt[_val].json, docs/img/headroom-*.png and the
``headroom:fashion-mnist-lt[:val]`` block of docs/results.md.

    python benchmarks/headroom.py --regimes 20x1000 60x1000 --seeds 0 1 2 3 4 --split val
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time
from pathlib import Path

from matplotlib.figure import Figure
from quality import (
    BALANCED,
    CONTROL,
    CORE,
    KEYS,
    REPO,
    add_options,
    clear,
    collect,
    fashion_preset,
    preset_name,
    slug,
    update_results_md,
)

from solo_tase.utils.atomic import write_text_atomically

DATASET = "fashion-mnist-lt"
GROUPS = ("many", "medium", "few", "all")


def parse_regime(text: str) -> tuple[int, int]:
    """``"60x1000"`` -> (60, 1000)."""
    try:
        epochs, n_max = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"regime {text!r} must be EPOCHSxN_MAX, e.g. 60x1000"
        ) from None
    if epochs < 1 or n_max < 10:
        raise argparse.ArgumentTypeError(f"regime {text!r}: epochs >= 1 and n_max >= 10")
    return epochs, n_max


def headroom(rows: dict[str, list[dict]]) -> dict[str, dict[str, list[float]]]:
    """Balanced minus long-tailed SimCLR per protocol and group, one value per paired seed."""
    lt = {r["seed"]: r for r in rows.get("simclr", [])}
    out: dict[str, dict[str, list[float]]] = {}
    for r in rows.get(BALANCED, []):
        if r["seed"] not in lt:
            continue
        for proto, m in r["metrics"].items():
            for key in KEYS:
                diff = m[key] - lt[r["seed"]]["metrics"][proto][key]
                out.setdefault(proto, {}).setdefault(key, []).append(diff)
    return out


def fmt(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:+.2f}" if values else "-"
    return f"{statistics.mean(values):+.2f} ± {statistics.stdev(values):.2f}"


def markdown(results: dict[str, dict], args: argparse.Namespace, minutes: float) -> str:
    lines = [
        f"Measured on {datetime.date.today().isoformat()} (2-core CPU); seeds {args.seeds} "
        f"(each its own class order); evaluated on the {args.split} split; this invocation "
        f"{minutes:.0f} min. Command: `python benchmarks/headroom.py --regimes "
        f"{' '.join(results)} --seeds {' '.join(map(str, args.seeds))} --split {args.split}`.",
        "",
        "Headroom = SimCLR on balanced data minus SimCLR on the long-tailed data (same size, same "
        "probe / evaluation set and groups), paired per seed, mean ± std over seeds, points of %. "
        "**clear** = the mean exceeds twice the std.",
        "",
        "| regime | probe | Many | Medium | Few | All | Few clear? | SimCLR Few | "
        "pre-training (min/run) |",
        "| --- | --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: |",
    ]
    for name, res in results.items():
        for proto in args.protocols:
            h = res["headroom"].get(proto, {})
            if not h:
                continue
            few_lt = [r["metrics"][proto]["few"] for r in res["rows"].get("simclr", [])]
            cells = [fmt(h[k]) for k in GROUPS]
            lines.append(
                f"| {name} | {proto} | " + " | ".join(cells) + " | "
                f"{'**yes**' if clear(h['few']) else 'no'} | "
                f"{statistics.mean(few_lt):.2f} | {res['minutes']:.1f} |"
            )
    lines += ["", "Per seed, Few (points):", ""]
    for name, res in results.items():
        for proto, h in res["headroom"].items():
            lines.append(f"- {name}, {proto}: " + ", ".join(f"{x:+.2f}" for x in h["few"]))
    return "\n".join(lines) + "\n"


def plot(results: dict[str, dict], protocols: list[str], split: str) -> list[str]:
    """Few and All headroom (mean ± std) against epochs (one line per n_max); returns the
    images written (relative to docs/)."""
    written = []
    for proto in protocols:
        fig = Figure(figsize=(7, 4), layout="constrained")
        ax = fig.add_subplot()
        by_n: dict[int, list[tuple[int, dict]]] = {}
        for res in results.values():
            if proto in res["headroom"]:
                by_n.setdefault(res["n_max"], []).append((res["epochs"], res["headroom"][proto]))
        if not by_n:
            continue
        for n_max, points in sorted(by_n.items()):
            points.sort()
            for key, style in (("few", "o-"), ("all", "s--")):
                ax.errorbar(
                    [e for e, _ in points],
                    [statistics.mean(h[key]) for _, h in points],
                    yerr=[statistics.stdev(h[key]) if len(h[key]) > 1 else 0 for _, h in points],
                    fmt=style,
                    capsize=3,
                    label=f"n_max {n_max}, {key}",
                )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(
            xlabel="pre-training epochs",
            ylabel="balanced - long-tailed SimCLR (points)",
            title=f"{proto}: headroom ({split} split, mean ± std over seeds)",
        )
        ax.legend()
        ax.grid(alpha=0.3)
        image = f"img/headroom-{DATASET}-{split}-{slug(proto)}.png"
        (REPO / "docs" / image).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(REPO / "docs" / image, dpi=110)
        written.append(image)
    return written


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--regimes",
        type=parse_regime,
        nargs="+",
        default=[(20, 1000), (60, 1000), (150, 1000), (20, 3000)],
        help="EPOCHSxN_MAX, run in the order given (default: 20x1000 60x1000 150x1000 20x3000)",
    )
    add_options(p)
    p.set_defaults(seeds=[0, 1, 2, 3, 4], split="val")
    args = p.parse_args()
    start = time.perf_counter()
    variants = {BALANCED: CONTROL[BALANCED], "simclr": CORE["simclr"]}
    results: dict[str, dict] = {}
    for epochs, n_max in args.regimes:
        name = f"{epochs}x{n_max}"
        print(f"[headroom] regime {name}: {epochs} epochs, n_max {n_max}", flush=True)
        bench = fashion_preset(epochs, n_max, variants)
        args.epochs = epochs
        out = Path(f"runs/bench-{preset_name(epochs, n_max)}").resolve()
        rows, missing = collect(bench, DATASET, list(variants), args, out)
        runs = [r for rs in rows.values() for r in rs]
        results[name] = {
            "epochs": epochs,
            "n_max": n_max,
            "rows": rows,
            "missing": missing,
            "headroom": headroom(rows),
            "minutes": statistics.mean(r["seconds"] for r in runs) / 60 if runs else 0.0,
        }
    section = markdown(results, args, (time.perf_counter() - start) / 60)
    for image in plot(results, args.protocols, args.split):
        section += f"\n![headroom by pre-training length]({image})\n"
    print(section)
    suffix = "" if args.split == "test" else f"_{args.split}"
    path = REPO / "benchmarks" / "results" / f"headroom_{DATASET}{suffix}.json"
    write_text_atomically(path, json.dumps(results, indent=2))
    if not args.no_docs:
        update_results_md(DATASET, args.split, section, kind="headroom")


if __name__ == "__main__":
    main()
