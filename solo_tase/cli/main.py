"""``solo-tase`` entry point. Every module ``solo_tase/cli/<name>.py`` (other than this one) that
defines ``register(subparsers)`` adds its sub-commands; each sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import solo_tase
from solo_tase.errors import USER_ERRORS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="solo-tase",
        description="Long-tailed self-supervised learning for solo-learn: data, evaluation, zoo.",
    )
    parser.add_argument("--version", action="version", version=f"solo-tase {solo_tase.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_cli_path()), key=lambda m: m.name):
        if info.name in ("main", "__init__"):
            continue
        module = importlib.import_module(f"solo_tase.cli.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def _cli_path() -> list[str]:
    import solo_tase.cli

    return list(solo_tase.cli.__path__)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as err:
        print(f"solo-tase {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
