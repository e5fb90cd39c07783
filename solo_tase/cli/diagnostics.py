"""``solo-tase diagnostics RUN``: how well a TASE run's tail signal saw the imbalance."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from solo_tase.cli.plot_options import PlotOptions
from solo_tase.settings import add_arguments, from_arguments

PLOT_NAME = "tail_diagnostics.png"
PLOT_MARK = "solo-tase diagnostics"  # the PNG mark of its plots (solo_tase.data.plot.made_by)

HEADERS = {
    "tail_signal": "signal",
    "recovered_imbalance": "imbalance found",
    "true_imbalance": "true",
    "nmi": "NMI",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnostics", help="a TASE run's tail-signal diagnostics over epochs (table and plot)"
    )
    p.add_argument("run", type=Path, help="run folder holding solo_tase_stats.jsonl")
    add_arguments(p, PlotOptions, defaults={"plot": f"RUN/{PLOT_NAME}"})
    p.set_defaults(func=_diagnostics)


def _diagnostics(args: argparse.Namespace) -> int:
    from solo_tase.eval.tail_report import COLUMNS, plot_estimates, read_estimates

    plot = from_arguments(PlotOptions, args)
    records = read_estimates(args.run)
    if not records:
        print(f"{args.run}: no re-clustering recorded yet (warm-up not over?)")
        return 0
    table = Table(title=f"tail signal of {args.run}")
    for col in COLUMNS:
        table.add_column(HEADERS.get(col, col.replace("_", " ")), no_wrap=True)
    for r in records:
        table.add_row(*(_cell(c, r.get(c)) for c in COLUMNS))
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    if not any("rho" in r for r in records):
        print(records[-1].get("diagnostics", "diagnostics not computed"))
    elif not plot.no_plot:
        from solo_tase.data.plot import made_by, mark_plot

        run_dir = args.run if args.run.is_dir() else args.run.parent
        path = Path(plot.plot or run_dir / PLOT_NAME)
        replace = plot.replace or made_by(path) == PLOT_MARK  # its own plot is replaced
        mark_plot(plot_estimates(records, path, replace=replace), PLOT_MARK)
        print(f"plot: {path}")
    return 0


def _cell(column: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:+.2f}" if column == "rho" else f"{value:.3g}"
    return "" if value is None else str(value)
