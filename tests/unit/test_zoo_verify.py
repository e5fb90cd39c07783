"""``zoo verify``: size and sha256 against the card, found beside the file or in the zoo."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from solo_tase.cli.main import main
from solo_tase.utils.hashing import sha256_file
from solo_tase.zoo.card import ModelCard, save_card
from solo_tase.zoo.store import entry_dir
from solo_tase.zoo.verify import verify
from tests.helpers.zoo_runs import card_dict

ARGS = b'{"name": "simclr-digits-lt"}'


@pytest.fixture
def entry(tmp_path: Path) -> Path:
    """A zoo entry with a 4 KiB weights file and args.json that match its card."""
    weights = tmp_path / "w.bin"
    weights.write_bytes(os.urandom(4096))
    (tmp_path / "args.json").write_bytes(ARGS)
    d = card_dict()
    d["weights"].update(sha256=sha256_file(weights), size=4096)
    d["args_sha256"] = sha256_file(tmp_path / "args.json")
    card = ModelCard.from_dict(d)
    folder = entry_dir(tmp_path / "zoo", card)
    folder.mkdir(parents=True)
    save_card(card, folder)
    weights.rename(folder / card.weights.file)
    (tmp_path / "args.json").rename(folder / "args.json")
    return folder


def weights_of(entry: Path) -> Path:
    return entry / "simclr-digits-lt.pth"


def test_a_good_file_verifies_from_the_file_or_its_folder(
    entry: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    zoo = str(tmp_path / "zoo")
    assert main(["zoo", "verify", str(weights_of(entry)), "--zoo-dir", zoo]) == 0
    assert capsys.readouterr().out.startswith(f"OK {weights_of(entry)} matches {entry}/card.yaml")
    assert verify(entry, tmp_path / "zoo").ok


@pytest.mark.parametrize(
    "damage,problem",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-1]), "has 4095 bytes, the card says 4096"),
        # the first byte flipped (overwriting it with 0 left a random file unchanged 1 in 256)
        (
            lambda p: p.write_bytes(bytes([p.read_bytes()[0] ^ 0xFF]) + p.read_bytes()[1:]),
            "has sha256 .*, the card says",
        ),
        (lambda p: p.unlink(), "does not exist"),
    ],
)
def test_damage_is_reported_with_exit_1(
    entry: Path, tmp_path: Path, damage, problem: str, capsys: pytest.CaptureFixture
) -> None:
    damage(weights_of(entry))
    assert main(["zoo", "verify", str(entry), "--zoo-dir", str(tmp_path / "zoo")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("MISMATCH ")
    assert re.search(problem, err)


def test_args_json_beside_the_weights_is_checked(entry: Path, tmp_path: Path) -> None:
    (entry / "args.json").write_bytes(ARGS + b" ")
    verdict = verify(weights_of(entry), tmp_path / "zoo")
    assert not verdict.ok and "args.json differs" in verdict.problems[0]


def test_a_file_elsewhere_is_matched_to_its_card_through_the_zoo(
    entry: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "downloads" / "simclr-digits-lt.pth"
    moved.parent.mkdir()
    weights_of(entry).rename(moved)
    verdict = verify(moved, tmp_path / "zoo")
    assert verdict.ok and verdict.card_path == entry / "card.yaml"
    renamed = moved.rename(moved.with_name("mine.pth"))
    with pytest.raises(
        FileNotFoundError, match="no model 'mine.pth' in .*card.yaml beside it: pass --card"
    ):
        verify(renamed, tmp_path / "zoo")
    assert verify(renamed, tmp_path / "zoo", card=entry).ok
    twin = entry_dir(tmp_path / "zoo", ModelCard.from_dict({**card_dict(), "method": "tase"}))
    twin.mkdir(parents=True)
    (twin / "card.yaml").write_bytes(
        (entry / "card.yaml").read_bytes().replace(b"method: simclr", b"method: tase")
    )
    renamed.rename(moved)
    with pytest.raises(ValueError, match="several models are named .*pass --card"):
        verify(moved, tmp_path / "zoo")
