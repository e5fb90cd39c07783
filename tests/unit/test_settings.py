"""The settings kit: records with declared rules, and errors that name the key and the fix."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Annotated, Any, Self

import pytest
from pydantic import Field, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from solo_tase.settings import (
    SETTINGS,
    ConfigError,
    Count,
    Flag,
    Positive,
    add_arguments,
    at_least,
    check,
    cross_check,
    describe,
    doc,
    from_arguments,
    integer_from,
    knob_table,
    one_of,
    ordered,
    parse,
    replace_block,
    require,
    rule,
    within,
)


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
        r"\['uri'\] \(did you mean 'url'\?\); expected \['inner', 'items', 'url'\]$",
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


def test_require() -> None:
    require(True, "a.b", "> 0", 1)
    with pytest.raises(ConfigError, match=r"^a.b must be > 0 \(got -1\)$"):
        require(False, "a.b", "> 0", -1)


@dataclass(frozen=True, config=SETTINGS)
class Knobs:
    steps: Count = 1
    rate: Positive = 0.1
    flag: Flag = False
    label: str | None = None
    share: Annotated[float, within(0, 1, "[)", "(a fraction)")] = 0.0
    floor: Annotated[float, at_least(-1)] = 0.0
    bins: Annotated[int, integer_from(2, "(or null)")] | None = None
    low: float = 0.0
    high: float = 1.0
    mid: float = 0.5

    @model_validator(mode="after")
    def _across(self) -> Self:
        ordered(self, "low", "high")
        cross_check(self.low <= self.mid <= self.high, "mid", "in [{low}, {high}]", self.mid)
        return self


@dataclass(frozen=True, config=SETTINGS)
class Panel:
    knobs: list[Knobs]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"steps": 0}, "k.steps must be an integer >= 1 (got 0)"),
        ({"steps": 2.5}, "k.steps must be of type int (got 2.5)"),
        ({"steps": "many"}, "k.steps must be of type int (got 'many')"),
        ({"rate": 0}, "k.rate must be > 0 (got 0)"),
        ({"rate": "fast"}, "k.rate must be of type float (got 'fast')"),
        ({"flag": "yes"}, "k.flag must be true or false (got 'yes')"),
        ({"flag": 1}, "k.flag must be true or false (got 1)"),
        ({"label": 3}, "k.label must be of type str (got 3)"),
        ({"share": 1.0}, "k.share must be in [0, 1) (a fraction) (got 1.0)"),
        ({"share": -0.5}, "k.share must be in [0, 1) (a fraction) (got -0.5)"),
        ({"floor": -2}, "k.floor must be >= -1 (got -2)"),
        ({"bins": 1}, "k.bins must be an integer >= 2 (or null) (got 1)"),
        ({"low": 2.0}, "k.high must be >= k.low (2.0) (got 1.0)"),
        ({"mid": 1.5}, "k.mid must be in [k.low, k.high] (got 1.5)"),
        ({"speed": 1, "rate": 0}, "unknown keys ['k.speed']; known keys: ['bins', 'flag', "),
    ],
)
def test_kit_rules_read_as_the_key_and_the_allowed_values(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(Knobs, data, "k.")
    assert str(err.value).startswith(message)


def test_ints_read_as_floats_and_whole_floats_as_ints() -> None:
    knobs = parse(Knobs, {"steps": 2.0, "rate": 1, "bins": None, "share": 0}, "k.")
    assert (knobs.steps, knobs.rate, knobs.bins, knobs.share) == (2, 1.0, None, 0.0)
    assert isinstance(knobs.steps, int) and isinstance(knobs.rate, float)


def test_cross_field_rules_name_nested_keys_in_files_and_prefixes() -> None:
    bad = {"knobs": [{}, {"low": 0.2, "mid": 0.1}]}
    with pytest.raises(
        ConfigError,
        match=r"^p.yaml: knobs\[1\].mid must be in \[knobs\[1\].low, knobs\[1\].high\] "
        r"\(got 0.1\)$",
    ):
        parse(Panel, bad, "p.yaml")
    with pytest.raises(ConfigError, match=r"^x.knobs\[1\].mid must be in \[x.knobs\[1\].low, "):
        parse(Panel, bad, "x.")
    with pytest.raises(ConfigError, match=r"^missing keys \['x.knobs'\]; known keys: \['knobs'\]$"):
        parse(Panel, {}, "x.")


@pytest.mark.parametrize(
    "data, where, message",
    [
        (
            {"stpes": 2},
            "k.",
            "unknown keys ['k.stpes'] (did you mean 'steps'?); known keys: ['bins', ",
        ),
        (
            {"stpes": 2, "shares": 0.5, "colour": 1},
            "k.",
            "unknown keys ['k.colour', 'k.shares', 'k.stpes'] (did you mean 'share' for "
            "'shares', 'steps' for 'stpes'?); known keys: ",
        ),
        (
            {"stpes": 2},
            "k.yaml",
            "k.yaml: missing keys [], unknown keys ['stpes'] (did you mean 'steps'?); expected [",
        ),
    ],
)
def test_unknown_keys_close_to_a_known_one_say_which(data: dict, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(Knobs, data, where)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_unknown_nested_keys_are_matched_against_their_own_record() -> None:
    with pytest.raises(ConfigError) as err:
        parse(Outer, {**good(), "inner": {"size": 1, "knid": "a"}}, "x.")
    assert str(err.value).startswith(
        "unknown keys ['x.inner.knid'] (did you mean 'kind'?); known keys: ['kind', 'name', 'size']"
    )


def test_unknown_keys_are_reported_before_bad_values() -> None:
    with pytest.raises(ConfigError, match=r"unknown keys \['colour'\]"):
        parse(Outer, {**good(), "inner": {"size": 0, "colour": 1}}, "f.yaml")


@pytest.mark.parametrize(
    "ends, accepted",
    [("[]", [0, 0.5, 1]), ("[)", [0, 0.5]), ("(]", [0.5, 1]), ("()", [0.5])],
)
def test_within_allows_the_ends_it_names(ends: str, accepted: list[float]) -> None:
    span = TypeAdapter(Annotated[float, within(0, 1, ends)])
    for value in (-0.1, 0, 0.5, 1, 1.1):
        if value in accepted:
            assert span.validate_python(value) == value
        else:
            with pytest.raises(ValidationError, match=rf"must be in \{ends[0]}0, 1\{ends[1]}"):
                span.validate_python(value)
    with pytest.raises(ValueError, match="ends must be one of"):
        within(0, 1, "[[")


@dataclass(frozen=True, config=SETTINGS)
class Options:
    """A record as a command declares it: every field with its help."""

    n_max: Annotated[int, integer_from(1), doc("images of the head class")] | None = None
    ratio: Annotated[float, at_least(1), doc("imbalance ratio")] = 100.0
    order: Annotated[str, one_of("label", "random"), doc("class order")] = "label"
    seeds: Annotated[tuple[int, ...], doc("seeds")] = (0,)
    out: Annotated[Path, doc("output folder")] | None = None
    replace: Annotated[Flag, doc("overwrite")] = False
    plot: Annotated[Flag, doc("write the plot")] = True


def test_describe_reads_type_choices_default_and_help():
    info = {f.name: f for f in describe(Options)}
    assert info["n_max"].base is int and info["n_max"].optional and info["n_max"].default is None
    assert info["order"].choices == ("label", "random") and info["order"].help == "class order"
    assert info["seeds"].base is tuple and info["seeds"].item is int
    assert info["out"].base is Path and info["replace"].base is bool


def test_options_are_generated_from_the_record_and_errors_name_the_option():
    parser = argparse.ArgumentParser()
    add_arguments(parser, Options)
    text = parser.format_help()
    assert "--n-max N_MAX" in text and "images of the head class (default: null)" in text
    assert "--no-plot" in text and "{label,random}" in text
    args = parser.parse_args(["--n-max", "7", "--seeds", "1", "2", "--replace", "--no-plot"])
    got = from_arguments(Options, args)
    assert got == Options(n_max=7, seeds=(1, 2), replace=True, plot=False)
    assert from_arguments(Options, parser.parse_args([])) == Options()  # record defaults
    with pytest.raises(ConfigError, match=r"^--ratio must be >= 1 \(got 0.5\)"):
        from_arguments(Options, parser.parse_args(["--ratio", "0.5"]))
    with pytest.raises(ConfigError, match=r"^--n-max must be an integer >= 1"):
        from_arguments(Options, parser.parse_args(["--n-max", "0"]))
    with pytest.raises(SystemExit):  # argparse: not one of the choices
        parser.parse_args(["--order", "other"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--n-max", "x"])
    prefixed = argparse.ArgumentParser()
    add_arguments(prefixed, Options, prefix="probe-", skip=("out",))
    got = from_arguments(Options, prefixed.parse_args(["--probe-ratio", "3"]), prefix="probe-")
    assert got.ratio == 3.0
    with pytest.raises(ConfigError, match=r"^--probe-ratio must be >= 1"):
        from_arguments(Options, prefixed.parse_args(["--probe-ratio", "0"]), prefix="probe-")


def test_knob_tables_are_generated_and_replace_their_block():
    table = knob_table(Options, key_prefix="data.")
    assert "| `data.n_max` | null | images of the head class |" in table
    assert "| `data.order` | label | class order; one of `label`, `random` |" in table
    assert knob_table(Options, defaults={"n_max": "all"}).count("| `n_max` | all |") == 1
    text = "a\n<!-- t:begin -->\nold\n<!-- t:end -->\nb"
    assert replace_block(text, "t", "new\n") == "a\n<!-- t:begin -->\nnew\n<!-- t:end -->\nb"
    with pytest.raises(ValueError, match="no <!-- u:begin -->"):
        replace_block(text, "u", "x")
