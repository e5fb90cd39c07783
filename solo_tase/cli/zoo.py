"""``solo-tase zoo ...``: publish, list, fetch and verify model-zoo entries (docs/zoo.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from solo_tase.solo_compat import SOLO_LEARN_COMMIT
from solo_tase.zoo.store import DEFAULT_ZOO


def register(sub: argparse._SubParsersAction) -> None:
    zoo = sub.add_parser("zoo", help="publish, list, fetch and verify model-zoo checkpoints")
    zsub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="SUBCOMMAND")

    def command(
        name: str, summary: str, func: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = zsub.add_parser(name, help=summary, description=summary)
        p.add_argument(
            "--zoo-dir", type=Path, default=DEFAULT_ZOO, help="the zoo folder (default: ./zoo)"
        )
        p.set_defaults(func=func)
        return p

    pub = command("publish", "write zoo/<dataset>/<method>/<name>/ from a solo-learn run", _publish)
    pub.add_argument(
        "run_dir",
        type=Path,
        metavar="RUN_DIR",
        help="solo-learn run folder (args.json + checkpoints), or a checkpoint in it",
    )
    pub.add_argument(
        "--metrics",
        type=Path,
        action="append",
        required=True,
        help="metrics.json from `solo-tase eval` (repeat for several protocols)",
    )
    pub.add_argument("--url", help="where the weights file will be downloadable from")
    pub.add_argument("--name", help="entry name (default: the run's args.json name)")
    pub.add_argument(
        "--dataset",
        help="zoo dataset folder (default: the data manifest's name, "
        "else data.dataset; see docs/zoo.md)",
    )
    pub.add_argument(
        "--checkpoint",
        type=Path,
        help="checkpoint to publish (default: the only one, or the latest epoch)",
    )
    pub.add_argument(
        "--full-checkpoint",
        action="store_true",
        help="publish the run's checkpoint as is instead of backbone-only weights",
    )
    pub.add_argument("--replace", action="store_true", help="overwrite an entry of the same name")
    pub.add_argument(
        "--solo-learn-commit",
        default=SOLO_LEARN_COMMIT,
        help=f"solo-learn commit the run used (default: {SOLO_LEARN_COMMIT})",
    )

    lst = command("list", "print the published models and rewrite zoo/README.md's table", _list)
    lst.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if zoo/README.md is out of date"
    )

    fetch = command(
        "fetch", "download a model's weights from its card's URL and verify them", _fetch
    )
    fetch.add_argument(
        "name", metavar="NAME", help="model name, DATASET/METHOD/NAME or weights file name"
    )
    fetch.add_argument(
        "--dest",
        type=Path,
        help="folder for the weights (default: the entry folder in the zoo); "
        "card.yaml and args.json are copied beside them",
    )

    ver = command("verify", "check a weights file's sha256 and size against its card", _verify)
    ver.add_argument(
        "path", type=Path, metavar="PATH", help="weights file, or a folder with a card"
    )
    ver.add_argument(
        "--card",
        type=Path,
        help="the card to check against (default: beside PATH, else found in the zoo by file name)",
    )


def _publish(args: argparse.Namespace) -> int:
    from solo_tase.zoo.publish import publish

    done = publish(
        args.run_dir,
        args.metrics,
        args.zoo_dir,
        url=args.url,
        name=args.name,
        dataset=args.dataset,
        checkpoint=args.checkpoint,
        replace=args.replace,
        full_checkpoint=args.full_checkpoint,
        solo_learn_commit=args.solo_learn_commit,
    )
    for note in done.notes:
        print(f"note: {note}")
    w = done.card.weights
    print(f"published {done.card.name} to {done.folder}")
    print(f"  weights {w.file}: {w.size} bytes, sha256 {w.sha256} (git-ignored)")
    if done.card.url is None:
        print(
            f"  no --url: upload {done.folder / w.file} and republish with --replace --url URL "
            "so that `solo-tase zoo fetch` can download it"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    from solo_tase.zoo.listing import README_NAME, rich_table, update_readme
    from solo_tase.zoo.store import iter_entries

    cards = [c for _, c in iter_entries(args.zoo_dir)]
    if cards:
        console, table = Console(), rich_table(cards)
        if not console.is_terminal:  # piped or logged: print the table unsqueezed
            wide = console.measure(table, options=console.options.update_width(10_000))
            console.width = max(console.width, wide.maximum)
        console.print(table)
    else:
        print(f"no models published in {args.zoo_dir}")
    readme = args.zoo_dir / README_NAME
    changed = update_readme(args.zoo_dir, cards, check=args.check)
    if args.check and changed:
        print(f"{readme} is out of date: run `solo-tase zoo list`", file=sys.stderr)
        return 1
    if changed:
        print(f"updated {readme}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from solo_tase.zoo.fetch import fetch
    from solo_tase.zoo.store import find_entry

    entry, card = find_entry(args.zoo_dir, args.name)
    try:
        path, downloaded = fetch(entry, card, args.dest)
    except ConnectionError as err:
        print(f"solo-tase zoo fetch: error: {err}", file=sys.stderr)
        return 2
    state = "downloaded and verified" if downloaded else "already present, verified"
    print(f"{path}: {state} (sha256 {card.weights.sha256}, {card.weights.size} bytes)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from solo_tase.zoo.verify import verify

    verdict = verify(args.path, args.zoo_dir, args.card)
    if verdict.ok:
        w = verdict.card.weights
        print(
            f"OK {verdict.weights} matches {verdict.card_path} (sha256 {w.sha256}, {w.size} bytes)"
        )
        return 0
    for problem in verdict.problems:
        print(f"MISMATCH {problem} ({verdict.card_path})", file=sys.stderr)
    return 1
