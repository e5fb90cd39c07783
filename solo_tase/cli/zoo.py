"""``solo-tase zoo ...``: publish, list, fetch and verify model-zoo entries (docs/zoo.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from pydantic.dataclasses import dataclass
from rich.console import Console

from solo_tase.settings import SETTINGS, Flag, add_arguments, doc, from_arguments
from solo_tase.zoo.publish_options import PublishOptions
from solo_tase.zoo.store import DEFAULT_ZOO


@dataclass(frozen=True, config=SETTINGS)
class ZooFolder:
    """The option of every zoo command."""

    zoo_dir: Annotated[Path, doc("the zoo folder")] = DEFAULT_ZOO


@dataclass(frozen=True, config=SETTINGS)
class ListOptions:
    """``zoo list``'s option."""

    check: Annotated[Flag, doc("write nothing; exit 1 if zoo/README.md is out of date")] = False


@dataclass(frozen=True, config=SETTINGS)
class FetchOptions:
    """``zoo fetch``'s option."""

    dest: (
        Annotated[
            Path,
            doc(
                "folder for the weights (card.yaml and args.json are copied beside them); "
                "unset: the entry folder in the zoo"
            ),
        ]
        | None
    ) = None


@dataclass(frozen=True, config=SETTINGS)
class VerifyOptions:
    """``zoo verify``'s option."""

    card: (
        Annotated[
            Path,
            doc(
                "the card to check against; unset: beside PATH, else found in the zoo by file name"
            ),
        ]
        | None
    ) = None


def register(sub: argparse._SubParsersAction) -> None:
    zoo = sub.add_parser("zoo", help="publish, list, fetch and verify model-zoo checkpoints")
    zsub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="SUBCOMMAND")

    def command(
        name: str, summary: str, func: Callable[[argparse.Namespace], int], options: type
    ) -> argparse.ArgumentParser:
        p = zsub.add_parser(name, help=summary, description=summary)
        add_arguments(p, options)
        add_arguments(p, ZooFolder)
        p.set_defaults(func=func)
        return p

    summary = "write zoo/<dataset>/<method>/<name>/ from a solo-learn run"
    pub = command("publish", summary, _publish, PublishOptions)
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
    summary = "print the published models and rewrite zoo/README.md's table"
    command("list", summary, _list, ListOptions)
    summary = "download a model's weights from its card's URL and verify them"
    fetch = command("fetch", summary, _fetch, FetchOptions)
    fetch.add_argument(
        "name", metavar="NAME", help="model name, DATASET/METHOD/NAME or weights file name"
    )
    summary = "check a weights file's sha256 and size against its card"
    verify = command("verify", summary, _verify, VerifyOptions)
    verify.add_argument(
        "path", type=Path, metavar="PATH", help="weights file, or a folder with a card"
    )


def _publish(args: argparse.Namespace) -> int:
    from solo_tase.zoo.publish import publish

    zoo = from_arguments(ZooFolder, args).zoo_dir
    done = publish(args.run_dir, args.metrics, zoo, from_arguments(PublishOptions, args))
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
    from solo_tase.zoo.listing import README_NAME, hosting_note, rich_table, update_readme
    from solo_tase.zoo.store import iter_entries

    zoo, check = from_arguments(ZooFolder, args).zoo_dir, from_arguments(ListOptions, args).check
    cards = [c for _, c in iter_entries(zoo)]
    if cards:
        console, table = Console(), rich_table(cards)
        if not console.is_terminal:  # piped or logged: print the table unsqueezed
            wide = console.measure(table, options=console.options.update_width(10_000))
            console.width = max(console.width, wide.maximum)
        console.print(table)
        if note := hosting_note(cards):
            print(note)
    else:
        print(f"no models published in {zoo}")
    readme = zoo / README_NAME
    changed = update_readme(zoo, cards, check=check)
    if check and changed:
        print(f"{readme} is out of date: run `solo-tase zoo list`", file=sys.stderr)
        return 1
    if changed:
        print(f"updated {readme}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from solo_tase.zoo.fetch import fetch
    from solo_tase.zoo.store import find_entry

    entry, card = find_entry(from_arguments(ZooFolder, args).zoo_dir, args.name)
    try:
        path, downloaded = fetch(entry, card, from_arguments(FetchOptions, args).dest)
    except ConnectionError as err:
        print(f"solo-tase zoo fetch: error: {err}", file=sys.stderr)
        return 2
    state = "downloaded and verified" if downloaded else "already present, verified"
    print(f"{path}: {state} (sha256 {card.weights.sha256}, {card.weights.size} bytes)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from solo_tase.zoo.verify import verify

    zoo, card = from_arguments(ZooFolder, args).zoo_dir, from_arguments(VerifyOptions, args).card
    verdict = verify(args.path, zoo, card)
    if verdict.ok:
        w = verdict.card.weights
        print(
            f"OK {verdict.weights} matches {verdict.card_path} (sha256 {w.sha256}, {w.size} bytes)"
        )
        return 0
    for problem in verdict.problems:
        print(f"MISMATCH {problem} ({verdict.card_path})", file=sys.stderr)
    return 1
