"""``solo-tase eval`` result folders (metrics.json, per_class.csv, per_class.png) and the
comparison of several of them (docs/evaluation.md)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from solo_tase.data.plot import GROUP_COLOURS
from solo_tase.data.profiles import GROUPS
from solo_tase.errors import InputError
from solo_tase.eval.pipeline import METRICS_SCHEMA
from solo_tase.utils.atomic import build_folder_atomically, refuse_existing
from solo_tase.utils.documents import read_document
from solo_tase.utils.markdown import markdown_table

METRICS_FILE = "metrics.json"
EVAL_DIR = "eval"  # <checkpoint folder>/eval/<tag>/: where `solo-tase eval` writes by default
PER_CLASS_CSV = "per_class.csv"
PER_CLASS_PLOT = "per_class.png"
TABLE_COLUMNS = ("many", "medium", "few", "std", "all")


def write_result(out: Path, document: Mapping[str, Any], *, replace: bool = False) -> Path:
    """Write the result folder ``out`` atomically; refuse an existing ``out`` unless ``replace``."""
    out = Path(out)
    refuse_existing(out, replace, "--out")

    def fill(tmp: Path) -> None:
        (tmp / METRICS_FILE).write_text(json.dumps(document, indent=2) + "\n")
        write_per_class_csv(document, tmp / PER_CLASS_CSV)
        plot_per_class(document, tmp / PER_CLASS_PLOT)

    return build_folder_atomically(out, fill)


def write_per_class_csv(document: Mapping[str, Any], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["class", "train_count", "group", "accuracy"])
        writer.writeheader()
        writer.writerows(document["per_class"])


def plot_per_class(document: Mapping[str, Any], path: Path) -> None:
    """Scatter of per-class accuracy (%) against pre-training images per class (log scale);
    each group's count range is shaded, its accuracy drawn as a dashed line."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    metrics = document["metrics"]
    for group in GROUPS:
        rows = [r for r in document["per_class"] if r["group"] == group]
        counts, colour = [r["train_count"] for r in rows], GROUP_COLOURS[group]
        lo, hi = min(counts) / 1.08, max(counts) * 1.08
        ax.axvspan(lo, hi, color=colour, alpha=0.12)
        ax.hlines(metrics[group], lo, hi, color=colour, linestyles="--", linewidth=1)
        ax.scatter(
            counts,
            [r["accuracy"] for r in rows],
            color=colour,
            s=18,
            label=f"{group}: {metrics[group]:.1f}%",
        )
    ax.set_xscale("log")
    ax.set_ylim(-2, 102)
    ax.set_xlabel("pre-training images of the class (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(
        f"{document['method']} ({document['run_name']}), {protocol_label(document)}: "
        f"All {metrics['all']:.1f}%, Std {metrics['std']:.1f}",
        fontsize=9,
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(path, dpi=120)


def protocol_label(document: Mapping[str, Any]) -> str:
    """``linear``, ``linear 100-shot``, ``linear 1%``, ``knn k=20``, ``knn k=20 5-shot``, or a
    preset's ``bcl 100-shot``, ``sdclr 1%``."""
    p = document["protocol"]
    if p.get("preset"):
        return f"{p['preset']} {p['setting']}"
    label = p["name"] + (f" k={p['k']}" if p["name"] == "knn" else "")
    if p.get("shots"):
        label += f" {p['shots']}-shot"
    elif p.get("fraction"):
        label += f" {100 * p['fraction']:g}%"
    return label


def load_metrics(path: str | Path) -> dict[str, Any]:
    """A ``metrics.json`` document (``path`` is the file or its result folder)."""
    file, doc = read_document(
        Path(path),
        f"no {METRICS_FILE} at {path}: pass a `solo-tase eval` result folder or its metrics.json",
        METRICS_FILE,
    )
    if not isinstance(doc, dict) or doc.get("schema") != METRICS_SCHEMA:
        raise InputError(
            f"{file} is not a {METRICS_SCHEMA} document (schema "
            f"{doc.get('schema') if isinstance(doc, dict) else None!r})"
        )
    return doc


def check_comparable(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Raise ``InputError`` unless every run used the same manifest, groups and protocol."""
    ref_name, ref = runs[0]
    ref_groups = [(c["class"], c["group"]) for c in ref["per_class"]]
    for name, doc in runs[1:]:
        if (
            doc["inputs"]["manifest_checksum"] != ref["inputs"]["manifest_checksum"]
            or [(c["class"], c["group"]) for c in doc["per_class"]] != ref_groups
        ):
            raise InputError(
                f"{name} and {ref_name} were evaluated against different manifests "
                f"({doc['inputs']['manifest']} vs {ref['inputs']['manifest']}): "
                "their Many/Medium/Few numbers are not comparable"
            )
        keys = sorted(
            k
            for k in set(doc["protocol"]) | set(ref["protocol"])
            if doc["protocol"].get(k) != ref["protocol"].get(k)
        )
        if keys:
            diff = ", ".join(
                f"{k}: {doc['protocol'].get(k)!r} vs {ref['protocol'].get(k)!r}" for k in keys
            )
            raise InputError(
                f"{name} and {ref_name} used different protocols ({diff}): "
                "re-evaluate them with the same options"
            )


def comparison_table(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Markdown table (method, run, Many, Medium, Few, Std, All; mean +- std over seeds) of
    ``(result path, document)`` pairs; rows of one run name from different folders are told
    apart by the part of their paths that differs."""
    check_comparable(runs)
    header = ["method", "run", "Many", "Medium", "Few", "Std", "All"]
    rows = []
    for (_, doc), name in zip(runs, row_names(runs)):
        std = doc.get("metrics_std") or {}
        rows.append(
            [doc["method"], name, *(percent(doc["metrics"][k], std.get(k)) for k in TABLE_COLUMNS)]
        )
    return f"Protocol: {protocol_label(runs[0][1])}, accuracies in %.\n\n" + markdown_table(
        header, rows, right=header[2:]
    )


def result_folder(path: str | Path) -> Path:
    """The resolved result folder of a result folder or its metrics.json."""
    path = Path(path).resolve()
    return path.parent if path.name == METRICS_FILE else path


def row_names(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Each row's run name, followed by ``(<differing part of its path>)`` when another row has
    the same method and run name but another result folder."""
    keys = [(doc["method"], doc["run_name"]) for _, doc in runs]
    folders = [result_folder(path) for path, _ in runs]
    names = [str(doc["run_name"]) for _, doc in runs]
    for key in set(keys):
        same = [i for i, k in enumerate(keys) if k == key]
        if len({folders[i] for i in same}) > 1:
            parts = differing_parts([folders[i] for i in same])
            for i, part in zip(same, parts):
                names[i] += f" ({part})"
    return names


def differing_parts(paths: Sequence[Path]) -> list[str]:
    """Each path without the leading and trailing folders that all of ``paths`` share
    (``a/x/eval/linear``, ``a/y/eval/linear`` -> ``x``, ``y``); the whole path when that
    leaves nothing."""
    split = [p.parts for p in paths]
    shortest = min(len(s) for s in split)
    head = next((i for i in range(shortest) if len({s[i] for s in split}) > 1), shortest)
    tail = next(
        (i for i in range(shortest - head) if len({s[len(s) - 1 - i] for s in split}) > 1),
        shortest - head,
    )
    parts = ["/".join(s[head : len(s) - tail]) for s in split]
    return parts if all(parts) else [str(p) for p in paths]


def expand_results(path: str | Path) -> tuple[list[Path], bool]:
    """The results ``path`` names: itself (a result folder or metrics.json), or, for a run
    folder, every ``eval/<tag>/`` result in it (then True)."""
    path = Path(path)
    if path.is_dir() and not (path / METRICS_FILE).is_file():
        found = sorted(p.parent for p in path.glob(f"{EVAL_DIR}/*/{METRICS_FILE}"))
        if found:
            return found, True
        raise FileNotFoundError(
            f"no {METRICS_FILE} in {path} nor in {path / EVAL_DIR}/*/: pass `solo-tase eval` "
            "result folders, their metrics.json, or run folders whose checkpoints were evaluated"
        )
    return [path], False


def compare_results(paths: Sequence[str | Path]) -> str:
    """``solo-tase compare``: one table of the given results; when a path is a run folder, its
    ``eval/*`` results are read and every protocol gets its own table."""
    results: list[tuple[str, dict[str, Any]]] = []
    by_protocol = False
    for path in paths:
        found, expanded = expand_results(path)
        by_protocol |= expanded
        results += [(str(p), load_metrics(p)) for p in found]
    if not by_protocol:
        return comparison_table(results)
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for result in results:
        groups.setdefault(protocol_label(result[1]), []).append(result)
    return "\n\n".join(comparison_table(group) for group in groups.values())


def percent(value: float, std: float | None = None) -> str:
    """``12.34`` or ``12.34 ± 0.56`` (%)."""
    return f"{value:.2f}" if std is None else f"{value:.2f} ± {std:.2f}"
