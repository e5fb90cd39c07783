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
    CLEAR_TEXT,
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


def paired_seeds(rows: dict[str, list[dict]]) -> list[int]:
    """The seeds with both a balanced and a long-tailed SimCLR run, in order."""
    lt = {r["seed"] for r in rows.get("simclr", [])}
    return sorted(lt & {r["seed"] for r in rows.get(BALANCED, [])})


def headroom(
    rows: dict[str, list[dict]], seeds: set[int] | None = None
) -> dict[str, dict[str, list[float]]]:
    """Balanced minus long-tailed SimCLR per protocol and group, one value per paired seed
    (only ``seeds`` when given), in seed order."""
    lt = {r["seed"]: r for r in rows.get("simclr", [])}
    bal = {r["seed"]: r for r in rows.get(BALANCED, [])}
    out: dict[str, dict[str, list[float]]] = {}
    for seed in paired_seeds(rows):
        if seeds is not None and seed not in seeds:
            continue
        for proto, m in bal[seed]["metrics"].items():
            for key in KEYS:
                diff = m[key] - lt[seed]["metrics"][proto][key]
                out.setdefault(proto, {}).setdefault(key, []).append(diff)
    return out


def shared_seeds(results: dict[str, dict]) -> set[int]:
    """The paired seeds every regime has: the like-for-like basis of the curves."""
    sets = [set(paired_seeds(res["rows"])) for res in results.values()]
    return set.intersection(*sets) if sets else set()


def fmt(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:+.2f}" if values else "-"
    return f"{statistics.mean(values):+.2f} ± {statistics.stdev(values):.2f}"


def markdown(results: dict[str, dict], args: argparse.Namespace, minutes: float) -> str:
    """The headroom block of docs/results.md: every regime on all its paired seeds, then Few on
    the seeds all regimes share (the curves' basis), per-seed values and the pairs missing."""
    lines = [
        f"Measured on {datetime.date.today().isoformat()} (2-core CPU); seeds asked "
        f"{args.seeds} (each its own class order); evaluated on the {args.split} split; this "
        f"invocation {minutes:.0f} min. Command: `python benchmarks/headroom.py --regimes "
        f"{' '.join(results)} --seeds {' '.join(map(str, args.seeds))} --split {args.split}`.",
        "",
        "Headroom = SimCLR on balanced data minus SimCLR on the long-tailed data (same size, same "
        "probe / evaluation set and groups), paired per seed, mean ± std over seeds, points of %. "
        f"**clear** = {CLEAR_TEXT[args.clear_rule]}. A regime is EPOCHSxN_MAX.",
        "",
        "| regime | probe | seeds | Many | Medium | Few | All | Few clear? | SimCLR Few | "
        "pre-training (min/run) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: |",
    ]
    for name, res in results.items():
        for proto in args.protocols:
            h = res["headroom"].get(proto, {})
            if not h:
                continue
            few_lt = [r["metrics"][proto]["few"] for r in res["rows"].get("simclr", [])]
            cells = [fmt(h[k]) for k in GROUPS]
            lines.append(
                f"| {name} | {proto} | {len(h['few'])} | " + " | ".join(cells) + " | "
                f"{'**yes**' if clear(h['few'], args.clear_rule) else 'no'} | "
                f"{statistics.mean(few_lt):.2f} | {res['minutes']:.1f} |"
            )
    shared = shared_seeds(results)
    uneven = any(set(paired_seeds(res["rows"])) != shared for res in results.values())
    if len(results) > 1 and shared and uneven:
        lines += [
            "",
            f"Few on the seeds every regime has ({', '.join(map(str, sorted(shared)))}), "
            "like for like (the plots use these):",
            "",
            "| regime | " + " | ".join(args.protocols) + " |",
            "| --- | " + " | ".join("---:" for _ in args.protocols) + " |",
        ]
        for name, res in results.items():
            h = headroom(res["rows"], shared)
            lines.append(
                f"| {name} | "
                + " | ".join(fmt(h[p]["few"]) if p in h else "-" for p in args.protocols)
                + " |"
            )
    lines += ["", "Per seed, Few (points):", ""]
    for name, res in results.items():
        seeds = paired_seeds(res["rows"])
        for proto, h in res["headroom"].items():
            lines.append(
                f"- {name}, {proto}: "
                + ", ".join(f"{x:+.2f} (s{s})" for s, x in zip(seeds, h["few"], strict=True))
            )
    missing = [f"{name}: {m}" for name, res in results.items() for m in res["missing"]]
    if missing:
        lines += ["", "Not pre-trained yet (left out): " + "; ".join(missing) + "."]
    return "\n".join(lines) + "\n"


def curve(ax, points: list[tuple[int, dict[str, list[float]]]], label: str) -> None:
    """Few and All headroom (mean ± std) at each x of ``points`` (x, headroom groups)."""
    points = sorted(points, key=lambda p: p[0])
    for key, style in (("few", "o-"), ("all", "s--")):
        ax.errorbar(
            [x for x, _ in points],
            [statistics.mean(h[key]) for _, h in points],
            yerr=[statistics.stdev(h[key]) if len(h[key]) > 1 else 0 for _, h in points],
            fmt=style,
            capsize=3,
            label=f"{label}, {key}",
        )


def plot(results: dict[str, dict], protocols: list[str], split: str) -> list[str]:
    """Per probe, the headroom against pre-training length (one line per n_max) and against
    data size (one line per length), on the seeds every regime has; returns the images written
    (relative to docs/)."""
    shared = shared_seeds(results)
    like_for_like = [(res, headroom(res["rows"], shared)) for res in results.values()]
    written = []
    for proto in protocols:
        by_n: dict[int, list[tuple[int, dict]]] = {}
        by_epochs: dict[int, list[tuple[int, dict]]] = {}
        for res, groups in like_for_like:
            h = groups.get(proto)
            if h:
                by_n.setdefault(res["n_max"], []).append((res["epochs"], h))
                by_epochs.setdefault(res["epochs"], []).append((res["n_max"], h))
        if not by_n:
            continue
        fig = Figure(figsize=(11, 4), layout="constrained")
        length, size = fig.subplots(1, 2, sharey=True)
        for n_max, points in sorted(by_n.items()):
            curve(length, points, f"n_max {n_max}")
        for epochs, points in sorted(by_epochs.items()):
            curve(size, points, f"{epochs} epochs")
        length.set(xlabel="pre-training epochs", ylabel="balanced - long-tailed SimCLR (points)")
        size.set(xlabel="n_max (images in the head class)")
        for ax in (length, size):
            ax.axhline(0, color="grey", lw=0.8)
            ax.legend(fontsize="small")
            ax.grid(alpha=0.3)
        fig.suptitle(
            f"{proto}: headroom ({split} split, mean ± std over seeds "
            f"{', '.join(map(str, sorted(shared)))})"
        )
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
        section += f"\n![headroom against pre-training length and data size]({image})\n"
    print(section)
    suffix = "" if args.split == "test" else f"_{args.split}"
    path = REPO / "benchmarks" / "results" / f"headroom_{DATASET}{suffix}.json"
    write_text_atomically(path, json.dumps(results, indent=2))
    if not args.no_docs:
        update_results_md(DATASET, args.split, section, kind="headroom")


if __name__ == "__main__":
    main()
