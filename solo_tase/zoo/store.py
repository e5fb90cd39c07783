"""The zoo folder: one entry ``<zoo>/<dataset>/<method>/<name>/`` per published model."""

from __future__ import annotations

from pathlib import Path

from solo_tase.errors import InputError
from solo_tase.zoo.card import CARD_NAME, ModelCard, load_card

DEFAULT_ZOO = Path("zoo")


def entry_dir(zoo: Path, card: ModelCard) -> Path:
    return Path(zoo) / card.dataset / card.method / card.name


def iter_entries(zoo: Path) -> list[tuple[Path, ModelCard]]:
    """Every entry as (folder, card), sorted; a card away from the folder it names is refused."""
    zoo = Path(zoo)
    if not zoo.is_dir():
        raise FileNotFoundError(
            f"zoo folder {zoo} not found: run from the solo-tase checkout or pass --zoo-dir"
        )
    entries = []
    for path in sorted(zoo.glob(f"*/*/*/{CARD_NAME}")):
        if any(part.startswith(".") for part in path.relative_to(zoo).parts):
            continue  # an entry being written (.<name>.tmp-<pid>)
        card = load_card(path)
        if entry_dir(zoo, card) != path.parent:
            raise InputError(
                f"{path} describes {card.dataset}/{card.method}/{card.name} but sits "
                f"in {path.parent.relative_to(zoo)}: move it back or republish it"
            )
        entries.append((path.parent, card))
    return entries


def find_entry(
    zoo: Path,
    ref: str,
    hint: str = "see `solo-tase zoo list`; pass DATASET/METHOD/NAME when names repeat",
) -> tuple[Path, ModelCard]:
    """The one entry ``ref`` names: ``<dataset>/<method>/<name>``, a model name or a weights file
    name; ``hint`` tells the user what to do when none or several match."""
    entries = {d.relative_to(zoo).as_posix(): (d, c) for d, c in iter_entries(zoo)}
    ref = ref.strip("/")
    matches = [e for k, e in entries.items() if ref in (k, e[1].name, e[1].weights.file)]
    if not matches:
        published = ", ".join(sorted(entries)) or "none"
        raise FileNotFoundError(f"no model {ref!r} in {zoo} (published: {published}): {hint}")
    if len(matches) > 1:
        paths = ", ".join(d.relative_to(zoo).as_posix() for d, _ in matches)
        raise InputError(f"several models are named {ref!r} ({paths}): {hint}")
    return matches[0]
