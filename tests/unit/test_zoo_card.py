"""Model cards: YAML round trip and the refusals of malformed cards."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from solo_tase.zoo.card import ModelCard, load_card, save_card
from tests.helpers.paths import REPO
from tests.helpers.zoo_runs import card_dict


def test_card_round_trips_through_yaml(tmp_path: Path) -> None:
    card = ModelCard.from_dict(card_dict())
    path = save_card(card, tmp_path)
    assert path == tmp_path / "card.yaml"
    assert load_card(tmp_path) == card == load_card(path)
    assert yaml.safe_load(path.read_text()) == card_dict()
    assert list(yaml.safe_load(path.read_text()))[:3] == ["name", "dataset", "method"]


def broken(path: list[Any], value: Any) -> dict[str, Any]:
    d = copy.deepcopy(card_dict())
    node = d
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


@pytest.mark.parametrize(
    "data,match",
    [
        (broken(["weights", "sha256"], "XYZ"), "weights.sha256 must be 64 lowercase hex"),
        (broken(["args_sha256"], "A" * 64), "args_sha256 must be 64 lowercase hex"),
        (broken(["weights", "size"], 0), "weights.size must be a positive number of bytes"),
        (broken(["weights", "kind"], "fp16"), "weights.kind must be one of"),
        (broken(["weights", "file"], "../x.pth"), "weights.file must be a plain file name"),
        (broken(["evaluations", 0, "metrics", "few"], 0.3e3), r"metrics.few must be a percentage"),
        (
            broken(["evaluations", 0, "metrics", "all"], KeyError),
            r"metrics.all must be a percentage",
        ),
        (broken(["evaluations"], []), "at least one protocol"),
        (
            broken(["evaluations", 0, "protocol", "name"], KeyError),
            "protocol must be an object with a 'name'",
        ),
        (broken(["url"], KeyError), r"missing keys \['url'\]"),
        (
            broken(["pretraining", "tau"], 1),
            r"pretraining: missing keys \[\], unknown keys \['tau'\]",
        ),
        (broken(["schema"], "solo-tase/model-card/v0"), "schema must be"),
        (broken(["weights"], "abc"), "weights must be a mapping"),
    ],
)
def test_malformed_cards_are_refused_by_key(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ModelCard.from_dict(data, where="zoo/x/card.yaml")


def test_load_card_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model card at .*card.yaml"):
        load_card(tmp_path)
    (tmp_path / "card.yaml").write_text("name: [unclosed")
    with pytest.raises(ValueError, match="card.yaml is not valid YAML"):
        load_card(tmp_path)
    (tmp_path / "card.yaml").write_text("- a list")
    with pytest.raises(ValueError, match="card.yaml must be a mapping"):
        load_card(tmp_path)


REPO_CARDS = sorted((REPO / "zoo").glob("*/*/*/card.yaml"))


@pytest.mark.parametrize("path", REPO_CARDS, ids=lambda p: p.parent.name)
def test_the_published_cards_load_and_save_byte_for_byte(path: Path, tmp_path: Path) -> None:
    assert save_card(load_card(path), tmp_path).read_text() == path.read_text()
