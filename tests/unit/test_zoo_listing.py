"""The zoo table: rows from cards, README between markers, ``zoo list`` and ``--check``."""

from __future__ import annotations

from pathlib import Path

import pytest

from solo_tase.cli.main import main
from solo_tase.zoo.card import ModelCard, save_card
from solo_tase.zoo.listing import BEGIN, EMPTY, END, markdown_table, update_readme
from solo_tase.zoo.store import entry_dir, find_entry, iter_entries
from tests.helpers.paths import REPO
from tests.helpers.zoo_runs import card_dict

REPO_ZOO = REPO / "zoo"


def make_card(**changes) -> ModelCard:
    return ModelCard.from_dict({**card_dict(), **changes})


def add(zoo: Path, card: ModelCard) -> Path:
    folder = entry_dir(zoo, card)
    folder.mkdir(parents=True)
    save_card(card, folder)
    return folder


def test_markdown_rows_come_from_the_cards() -> None:
    knn = {
        "protocol": {"name": "knn", "seeds": [0], "k": 20},
        "metrics": {"all": 40.0, "many": 60.0, "medium": 35.0, "few": 20.0, "std": 16.3},
        "metrics_std": {"all": 0.5, "many": 0.25, "medium": 1.0, "few": 2.0, "std": 0.1},
        "file": "metrics-knn.json",
    }
    card = make_card(evaluations=card_dict()["evaluations"] + [knn], url=None)
    lines = markdown_table([card]).splitlines()
    assert lines[0].startswith("| Dataset | Method | Name | Backbone | Epochs | Protocol | All |")
    assert lines[2] == (
        "| digits-lt-r10-s0 | simclr | simclr-digits-lt | resnet18 | 100 | linear "
        "| 50.00 | 70.00 | 45.50 | 30.25 | 16.30 | 0.0 MiB | 000000000000 | not hosted |"
    )
    assert "| knn k=20 | 40.00 ± 0.50 | 60.00 ± 0.25 |" in lines[3]
    linked = markdown_table([make_card()]).splitlines()[2]
    assert linked.endswith("| [link](https://example.org/simclr-digits-lt.pth) |")
    assert markdown_table([]) == EMPTY


def test_readme_is_created_updated_between_markers_and_checked(tmp_path: Path) -> None:
    assert update_readme(tmp_path, [])
    readme = tmp_path / "README.md"
    text = readme.read_text()
    assert f"{BEGIN}\n{EMPTY}\n{END}" in text
    assert not update_readme(tmp_path, [])  # idempotent
    readme.write_text("# My zoo\nintro kept\n" + text[text.index(BEGIN) :] + "footer kept\n")
    assert update_readme(tmp_path, [make_card()], check=True)
    assert EMPTY in readme.read_text()  # check mode writes nothing
    assert update_readme(tmp_path, [make_card()])
    new = readme.read_text()
    assert new.startswith("# My zoo\nintro kept\n") and new.endswith(f"{END}\nfooter kept\n")
    assert "simclr-digits-lt" in new and EMPTY not in new
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="lacks the table markers"):
        update_readme(tmp_path, [])


def test_the_repository_zoo_readme_matches_its_cards() -> None:
    cards = [c for _, c in iter_entries(REPO_ZOO)]
    assert not update_readme(REPO_ZOO, cards, check=True), (
        "zoo/README.md is out of date with the cards: run `solo-tase zoo list`"
    )


def test_cli_list_prints_rewrites_and_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zoo = tmp_path / "zoo"
    add(zoo, make_card())
    add(zoo, make_card(method="tase", name="tase-digits-lt"))
    argv = ["zoo", "list", "--zoo-dir", str(zoo)]
    assert main(argv + ["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert not (zoo / "README.md").exists()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 model(s)" in out and "simclr-digits-lt" in out and "tase-digits-lt" in out
    assert f"updated {zoo / 'README.md'}" in out
    assert main(argv + ["--check"]) == 0
    assert "| tase | tase-digits-lt |" in (zoo / "README.md").read_text()


def test_entries_are_found_by_name_and_misplaced_cards_refused(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    first = add(zoo, make_card())
    second = add(zoo, make_card(dataset="cifar10-lt"))
    (zoo / "d" / "m" / ".x.tmp-1").mkdir(parents=True)
    save_card(make_card(), zoo / "d" / "m" / ".x.tmp-1")  # an entry being written: ignored
    assert [d for d, _ in iter_entries(zoo)] == [second, first]
    with pytest.raises(ValueError, match="several models are named .*DATASET/METHOD/NAME"):
        find_entry(zoo, "simclr-digits-lt")
    assert find_entry(zoo, "cifar10-lt/simclr/simclr-digits-lt/")[0] == second
    with pytest.raises(ValueError, match="several models are named 'simclr-digits-lt.pth'"):
        find_entry(zoo, "simclr-digits-lt.pth")  # a weights file name is a reference too
    save_card(make_card(name="renamed"), first)
    with pytest.raises(ValueError, match="describes digits-lt-r10-s0/simclr/renamed but sits in"):
        iter_entries(zoo)
    with pytest.raises(FileNotFoundError, match="zoo folder .* not found"):
        iter_entries(tmp_path / "none")


def test_cli_list_marks_models_whose_weights_are_not_hosted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zoo = tmp_path / "zoo"
    add(zoo, make_card())
    add(zoo, make_card(method="tase", name="tase-digits-lt", url=None))
    assert main(["zoo", "list", "--zoo-dir", str(zoo)]) == 0
    out = capsys.readouterr().out
    assert "the weights of 1 of the 2 models are not hosted (no url in the cards of " in out
    assert "tase-digits-lt): `solo-tase zoo fetch` cannot download them" in out
    assert "| tase | tase-digits-lt | resnet18 |" in (zoo / "README.md").read_text()
    row = next(r for r in (zoo / "README.md").read_text().splitlines() if "tase-digits-lt" in r)
    assert row.endswith("| not hosted |")
