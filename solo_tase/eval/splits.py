"""Results over several pre-training splits (SDCLR's five ``D_i``): one table, mean ± std.

A method's folder holds one ``solo-tase eval`` result per split, ``<folder>/split<k>/``. Each
result is already the mean over its probe files (BCL's five few-shot files); the table gives,
per method, the mean and the population std over the splits of All, Many, Medium, Few and Std.
Methods are compared split by split with the usual checks (same manifest, same protocol).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from solo_tase.errors import InputError
from solo_tase.eval.report import (
    TABLE_COLUMNS,
    check_comparable,
    load_metrics,
    percent,
    protocol_label,
)
from solo_tase.utils.markdown import markdown_table

SPLIT_PREFIX = "split"


def split_results(folder: Path) -> dict[str, dict[str, Any]]:
    """``{"split1": metrics document, ...}`` of a method folder, in split order."""
    folder = Path(folder)
    found = sorted(
        (p for p in folder.glob(f"{SPLIT_PREFIX}*") if (p / "metrics.json").is_file()),
        key=lambda p: (len(p.name), p.name),
    )
    if not found:
        raise FileNotFoundError(
            f"no {SPLIT_PREFIX}<k>/metrics.json under {folder}: --over-splits "
            "takes method folders holding one `solo-tase eval` result per "
            "pre-training split"
        )
    return {p.name: load_metrics(p) for p in found}


def aggregate(docs: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and population std over the splits of each headline metric (%)."""
    table = np.array([[doc["metrics"][k] for k in TABLE_COLUMNS] for doc in docs.values()])
    return (
        dict(zip(TABLE_COLUMNS, table.mean(axis=0).tolist())),
        dict(zip(TABLE_COLUMNS, table.std(axis=0).tolist())),
    )


def split_table(folders: Sequence[Path]) -> str:
    """Markdown table (method, splits, Many, Medium, Few, Std, All: mean ± std over splits)."""
    methods = [(str(f), split_results(f)) for f in folders]
    names = list(methods[0][1])
    for folder, docs in methods[1:]:
        if list(docs) != names:
            raise InputError(
                f"{folder} has results for {list(docs)} but {methods[0][0]} for "
                f"{names}: compare methods over the same splits"
            )
    for name in names:
        check_comparable([(f"{folder}/{name}", docs[name]) for folder, docs in methods])
    header = ["method", "splits", "Many", "Medium", "Few", "Std", "All"]
    rows = []
    for _, docs in methods:
        mean, std = aggregate(docs)
        first = next(iter(docs.values()))
        rows.append(
            [
                first["method"],
                str(len(docs)),
                *(percent(mean[k], std[k] if len(docs) > 1 else None) for k in TABLE_COLUMNS),
            ]
        )
    label = protocol_label(methods[0][1][names[0]])
    return (
        f"Protocol: {label}, mean ± std over {len(names)} pre-training split(s) "
        f"({', '.join(names)}), accuracies in %.\n\n"
        + markdown_table(header, rows, right=header[2:])
    )
