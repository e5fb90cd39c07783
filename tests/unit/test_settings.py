"""The settings kit: records with declared rules, and errors that name the key and the fix."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import pytest
from pydantic import Field
from pydantic.dataclasses import dataclass

from solo_tase.settings import SETTINGS, ConfigError, check, coerce, one_of, parse, require, rule


@dataclass(frozen=True, config=SETTINGS)
class Inner:
    size: Annotated[int, Field(strict=True, gt=0), rule("a positive number of bytes")]
    name: Annotated[str, check(lambda s: "/" not in s, "must be a plain name")] = "x"
    kind: Annotated[str, one_of("a", "b")] = "a"


@dataclass(frozen=True, config=SETTINGS)
class Outer:
    inner: Inner
    items: list[Inner]
    url: str | None


def good() -> dict[str, Any]:
    return {"inner": {"size": 3}, "items": [{"size": 1, "name": "a"}], "url": None}


@pytest.mark.parametrize(
    "change,message",
    [
        ({"inner": {"size": 0}}, "f.yaml: inner.size must be a positive number of bytes (got 0)"),
        (
            {"inner": {"size": True}},
            "f.yaml: inner.size must be a positive number of bytes (got True)",
        ),
        ({"items": [{"size": 1, "name": "a/b"}]}, "f.yaml: items[0].name must be a plain name"),
        (
            {"inner": {"size": 1, "kind": "c"}},
            "f.yaml: inner.kind must be one of 'a', 'b' (got 'c')",
        ),
        ({"inner": "abc"}, "f.yaml: inner must be a mapping (got str)"),
        (
            {"inner": {"size": 1, "colour": 2}},
            "f.yaml: inner: missing keys [], unknown keys ['colour']; "
            "expected ['kind', 'name', 'size']",
        ),
        (
            {"items": [{"name": "a"}]},
            "f.yaml: items[0]: missing keys ['size'], unknown keys []; "
            "expected ['kind', 'name', 'size']",
        ),
    ],
)
def test_errors_name_the_key_the_rule_and_the_value(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(Outer, {**good(), **change}, "f.yaml")
    assert str(err.value).startswith(message)


def test_missing_and_unknown_top_level_keys_are_listed_together() -> None:
    data = {k: v for k, v in good().items() if k != "url"} | {"uri": "x"}
    with pytest.raises(
        ConfigError,
        match=r"^f.yaml: missing keys \['url'\], unknown keys "
        r"\['uri'\]; expected \['inner', 'items', 'url'\]$",
    ):
        parse(Outer, data, "f.yaml")
    with pytest.raises(ConfigError, match=r"^f.yaml must be a mapping \(got list\)$"):
        parse(Outer, [1], "f.yaml")


def test_a_where_ending_with_a_dot_prefixes_the_key() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^method_kwargs.inner.size must be a positive number "
        r"of bytes \(got -2\)$",
    ):
        parse(Outer, {**good(), "inner": {"size": -2}}, "method_kwargs.")


def test_records_stay_standard_frozen_dataclasses() -> None:
    outer = parse(Outer, good(), "f.yaml")
    assert dataclasses.asdict(outer) == {
        **good(),
        "inner": {"size": 3, "name": "x", "kind": "a"},
        "items": [{"size": 1, "name": "a", "kind": "a"}],
    }
    assert dataclasses.replace(outer, url="https://x").url == "https://x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        outer.url = "y"  # type: ignore[misc]


def test_require_and_coerce() -> None:
    require(True, "a.b", "> 0", 1)
    with pytest.raises(ConfigError, match=r"^a.b must be > 0 \(got -1\)$"):
        require(False, "a.b", "> 0", -1)

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        steps: int = 1
        rate: float = 0.1
        flag: bool = False
        label: str | None = None

    assert coerce(Knobs, {"steps": 2.0, "rate": 1, "flag": True, "label": None}, "k.") == {
        "steps": 2,
        "rate": 1.0,
        "flag": True,
    }
    with pytest.raises(ConfigError, match=r"k.steps must be of type int \(got 2.5\)"):
        coerce(Knobs, {"steps": 2.5}, "k.")
    with pytest.raises(ConfigError, match=r"k.flag must be true or false \(got 'yes'\)"):
        coerce(Knobs, {"flag": "yes"}, "k.")
    with pytest.raises(ConfigError, match=r"unknown keys \['k.speed'\]; known keys: "):
        coerce(Knobs, {"speed": 1}, "k.")
