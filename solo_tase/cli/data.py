"""``solo-tase data ...``: build and inspect long-tailed datasets."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from solo_tase.data.manifest import Manifest


def default_data_root() -> Path:
    """``$SOLO_TASE_DATA`` or ``./datasets`` (the same default the configs use)."""
    return Path(os.environ.get("SOLO_TASE_DATA", "datasets"))


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="build and inspect long-tailed datasets")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    build = dsub.add_parser("build", help="build a long-tailed dataset as an ImageFolder")
    bsub = build.add_subparsers(dest="source", required=True, metavar="SOURCE")
    digits = bsub.add_parser("digits-lt", help="Digits-LT from scikit-learn's embedded digits")
    digits.add_argument("--out", type=Path, default=None,
                        help="output folder (default: $SOLO_TASE_DATA/digits-lt or ./datasets/digits-lt)")
    digits.add_argument("--ratio", type=float, default=10.0, help="imbalance ratio n_max/n_min")
    digits.add_argument("--seed", type=int, default=0)
    digits.add_argument("--test-per-class", type=int, default=50)
    digits.add_argument("--size", type=int, default=32, help="image side in pixels")
    digits.add_argument("--replace", action="store_true", help="overwrite a different dataset at --out")
    digits.set_defaults(func=_build_digits)

    inspect = dsub.add_parser("inspect", help="print a dataset's class histogram and groups")
    inspect.add_argument("path", type=Path, help="dataset folder or manifest.json")
    inspect.set_defaults(func=_inspect)


def _build_digits(args: argparse.Namespace) -> int:
    from solo_tase.data.digits import DigitsLTSpec, build_digits_lt

    out = args.out or default_data_root() / "digits-lt"
    spec = DigitsLTSpec(ratio=args.ratio, seed=args.seed, test_per_class=args.test_per_class,
                        size=args.size)
    manifest = build_digits_lt(out, spec, replace=args.replace)
    print(f"Digits-LT ({manifest.num_samples} train images, ratio {spec.ratio:g}) at {out}")
    print_histogram(manifest)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    print_histogram(Manifest.load(args.path))
    return 0


def print_histogram(manifest: Manifest) -> None:
    """Rich table of per-class counts and groups."""
    table = Table(title=f"{manifest.name}: {manifest.num_samples} images, "
                        f"{manifest.num_classes} classes ({manifest.group_rule})")
    for col in ("class", "count", "group", ""):
        table.add_column(col)
    top = max(manifest.counts)
    for name, count, group in zip(manifest.class_names, manifest.counts, manifest.groups):
        table.add_row(name, str(count), group, "#" * max(1, round(30 * count / top)))
    Console().print(table)
