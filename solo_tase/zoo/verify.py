"""``zoo verify``: a weights file's size and sha256 against its card."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solo_tase.run_folder import ARGS_NAME
from solo_tase.utils.hashing import sha256_file
from solo_tase.zoo.card import CARD_NAME, ModelCard, load_card
from solo_tase.zoo.store import find_entry


@dataclass(frozen=True)
class Verdict:
    weights: Path
    card_path: Path
    card: ModelCard
    problems: list[str]  # empty when the file matches its card

    @property
    def ok(self) -> bool:
        return not self.problems


def file_problems(path: Path, card: ModelCard) -> list[str]:
    """What is wrong with ``path`` against the card's weights size and sha256 (empty: all good)."""
    if not path.is_file():
        return [f"{path} does not exist"]
    size, sha256 = card.weights.size, card.weights.sha256
    if path.stat().st_size != size:
        return [f"{path} has {path.stat().st_size} bytes, the card says {size}"]
    actual = sha256_file(path)
    return [f"{path} has sha256 {actual}, the card says {sha256}"] if actual != sha256 else []


def verify(path: Path, zoo: Path, card: Path | None = None) -> Verdict:
    """Check ``path`` (a weights file, or a folder with a card) against ``card``, else the card
    beside it, else the zoo's card naming that file; an ``args.json`` beside it too."""
    path = Path(path)
    if card is None:
        card = path if path.is_dir() else path.parent
        if not path.is_dir() and not (card / CARD_NAME).is_file():
            if not path.is_file():
                raise FileNotFoundError(f"{path} does not exist")
            card = find_entry(zoo, path.name, f"nor a {CARD_NAME} beside it: pass --card CARD")[0]
    card_path = card / CARD_NAME if card.is_dir() else card
    found = load_card(card_path)
    weights = path / found.weights.file if path.is_dir() else path
    problems = file_problems(weights, found)
    args = weights.parent / ARGS_NAME
    if args.is_file() and sha256_file(args) != found.args_sha256:
        problems.append(
            f"{args} differs from the run's args.json the card records (sha256 {found.args_sha256})"
        )
    return Verdict(weights=weights, card_path=card_path, card=found, problems=problems)
