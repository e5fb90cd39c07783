"""The settings kit: typed, declarative records whose every error names the key, the allowed
values and the fix (pydantic v2 dataclasses; docs/developing.md says why). It is the only way the
plugin declares an option: method configs, data builders, evaluation requests and their probe
options, model cards. A record's fields carry their type, rule, allowed values, default and help
(:func:`doc`); the command line's options (:func:`add_arguments` / :func:`from_arguments`), their
error messages and the knob tables of the docs (:func:`knob_table`) are generated from them.

A record is a ``pydantic.dataclasses.dataclass(frozen=True, config=SETTINGS)``, so
``dataclasses.asdict`` / ``replace`` / ``fields`` work on it. A field's rule sits beside its type
(``Annotated[int, Field(gt=0), rule("a positive number of bytes")]``, ``Annotated[float,
within(0, 1, "[)")]``, :data:`Count`, :data:`Flag`); rules across fields go in the record's
``model_validator(mode="after")`` through :func:`cross_check` / :func:`ordered`. :func:`parse`
turns a mapping into the record or raises one :class:`ConfigError` naming the first bad key.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import re
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

from pydantic import AfterValidator, ConfigDict, Strict, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from solo_tase.errors import ConfigError

__all__ = ["ConfigError"]  # re-exported: the kit's errors are configuration errors

T = TypeVar("T")
_KEY_ERRORS = ("missing", "unexpected_keyword_argument", "extra_forbidden")
_MAPPING_ERRORS = ("dataclass_type", "dataclass_args_type", "model_type", "dict_type")
_TYPE_ERRORS = {  # pydantic's type errors, in the kit's words (``<key> must be <words>``)
    "int_type": "of type int",
    "int_parsing": "of type int",
    "int_from_float": "of type int",
    "float_type": "of type float",
    "float_parsing": "of type float",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "of type str",
}
# the config of every record: unknown keys are refused, defaults are validated too
SETTINGS = ConfigDict(extra="forbid", validate_default=True)


def require(ok: bool, key: str, allowed: str, got: Any) -> None:
    """Raise ``ConfigError`` naming ``key`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key} must be {allowed} (got {got!r})")


def rule(allowed: str) -> WrapValidator:
    """Annotation: any failure of the value itself reads ``<key> must be <allowed>``."""

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(
                "setting", "must be {allowed}", {"allowed": allowed}
            ) from None

    return WrapValidator(check)


def check(ok: Callable[[Any], bool], problem: str) -> AfterValidator:
    """Annotation: a valid value for which ``ok`` is false reads ``<key> <problem>``."""

    def run(value: Any) -> Any:
        if not ok(value):
            raise PydanticCustomError("setting", problem)
        return value

    return AfterValidator(run)


@dataclasses.dataclass(frozen=True)
class Doc:
    """Annotation: the help text of a field (the command line's help, the docs' knob tables)."""

    text: str


def doc(text: str) -> Doc:
    """Annotation: ``Annotated[int, integer_from(1), doc("images of the head class")]``."""
    return Doc(text)


@dataclasses.dataclass(frozen=True, slots=True)
class Choices(AfterValidator):
    """Annotation made by :func:`one_of`: a validator that also tells the allowed values (the
    command line's choices, the docs' tables)."""

    values: tuple[Any, ...] = ()


def one_of(*values: Any) -> Choices:
    """Annotation: the value must be one of ``values`` (``<key> must be one of 'a', 'b'``); the
    command line offers them as choices."""
    problem = "must be one of " + ", ".join(map(repr, values))

    def run(value: Any) -> Any:
        if value not in values:
            raise PydanticCustomError("setting", problem)
        return value

    return Choices(run, tuple(values))


def above(low: float, note: str = "") -> AfterValidator:
    """Annotation: ``<key> must be > <low> [note]``."""
    return check(lambda v: v > low, _must(f"> {low:g}", note))


def at_least(low: float, note: str = "") -> AfterValidator:
    """Annotation: ``<key> must be >= <low> [note]``."""
    return check(lambda v: v >= low, _must(f">= {low:g}", note))


def integer_from(low: int, note: str = "") -> AfterValidator:
    """Annotation for an int: ``<key> must be an integer >= <low> [note]``."""
    return check(lambda v: v >= low, _must(f"an integer >= {low}", note))


def within(low: float, high: float, ends: str = "[]", note: str = "") -> AfterValidator:
    """Annotation: ``<key> must be in [low, high] [note]``; ``ends`` (``"[]"``, ``"[)"``,
    ``"(]"``, ``"()"``) says which bounds are allowed."""
    if ends not in ("[]", "[)", "(]", "()"):
        raise ValueError(f"ends must be one of '[]', '[)', '(]', '()' (got {ends!r})")

    def inside(v: float) -> bool:
        return (low <= v if ends[0] == "[" else low < v) and (
            v <= high if ends[1] == "]" else v < high
        )

    return check(inside, _must(f"in {ends[0]}{low:g}, {high:g}{ends[1]}", note))


def _must(allowed: str, note: str) -> str:
    return f"must be {allowed} {note}" if note else f"must be {allowed}"


Count = Annotated[int, integer_from(1)]  # a number of things: an integer >= 1
Positive = Annotated[float, above(0)]  # a number > 0
Flag = Annotated[bool, Strict()]  # true or false, nothing that merely converts to a bool


def cross_check(ok: bool, key: str, allowed: str, got: Any) -> None:
    """In a record's ``model_validator(mode="after")`` (rules across fields): unless ``ok``, the
    record fails as ``<key> must be <allowed> (got <got>)`` with ``key`` one of its fields;
    ``{name}`` in ``allowed`` reads as the key of the field ``name`` (``method_kwargs.name``)."""
    if not ok:
        raise PydanticCustomError(
            "setting", "must be {allowed}", {"allowed": allowed, "key": key, "got": got}
        )


def ordered(record: Any, low: str, high: str) -> None:
    """Cross-field rule: ``<high> must be >= <low> (<its value>)`` for two fields of ``record``."""
    bottom, top = getattr(record, low), getattr(record, high)
    cross_check(bottom <= top, high, f">= {{{low}}} ({bottom})", top)


def parse(cls: type[T], data: Any, where: str) -> T:
    """``data`` as the record ``cls``; ``ConfigError`` prefixed by ``where`` (a file, a key
    prefix such as ``method_kwargs.``, or ``--`` for command-line options: ``--n-max``)."""
    try:
        return TypeAdapter(cls).validate_python(data)
    except ValidationError as err:
        raise ConfigError(_message(cls, err.errors(), where)) from None


def _message(cls: type, errors: list[Any], where: str) -> str:
    """One line for the first missing or unknown key, else for the first bad value."""
    first = next((e for e in errors if e["type"] in _KEY_ERRORS), errors[0])
    loc, kind, got = tuple(first["loc"]), first["type"], first.get("input")
    if kind in _KEY_ERRORS:
        loc = loc[:-1]
        same = [e for e in errors if e["type"] in _KEY_ERRORS and tuple(e["loc"][:-1]) == loc]
        missing = sorted(str(e["loc"][-1]) for e in same if e["type"] == "missing")
        unknown = sorted(str(e["loc"][-1]) for e in same if e["type"] != "missing")
        expected = sorted(_fields_at(cls, loc))
        hint = _did_you_mean(unknown, expected)
        if where.endswith("."):  # a key prefix: every key in full, as the user writes it
            listed = [
                (f"{name} keys", [_where(where, (*loc, k)) for k in keys])
                for name, keys in (("missing", missing), ("unknown", unknown))
                if keys
            ]
            return ", ".join(f"{n} {k}" for n, k in listed) + f"{hint}; known keys: {expected}"
        return (
            f"{_where(where, loc)}: missing keys {missing}, unknown keys {unknown}{hint}; "
            f"expected {expected}"
        )
    msg, ctx = first["msg"], first.get("ctx") or {}
    if kind == "setting" and "key" in ctx:  # from cross_check: the key is the field it names
        msg = re.sub(r"\{(\w+)\}", lambda m: _key(where, (*loc, m[1])), msg)
        loc, got = (*loc, ctx["key"]), ctx["got"]
    head = _where(where, loc)
    if kind == "setting":
        return f"{head} {msg} (got {got!r})"
    if kind in _TYPE_ERRORS:
        return f"{head} must be {_TYPE_ERRORS[kind]} (got {got!r})"
    if kind in _MAPPING_ERRORS:
        return f"{head} must be a mapping (got {type(got).__name__})"
    return f"{head}: {msg} (got {got!r})"


def _did_you_mean(unknown: list[str], expected: list[str]) -> str:
    """`` (did you mean 'temperature'?)`` for unknown keys close to known ones (difflib), with
    ``for 'temprature'`` after each when several keys are unknown; empty when none is close."""
    close = [(k, m[0]) for k in unknown if (m := difflib.get_close_matches(k, expected, n=1))]
    if not close:
        return ""
    if len(unknown) == 1:
        return f" (did you mean {close[0][1]!r}?)"
    return " (did you mean " + ", ".join(f"{m!r} for {k!r}" for k, m in close) + "?)"


def _key(where: str, loc: tuple[Any, ...]) -> str:
    """The key at ``loc`` as the user writes it: ``a.b[0].c``, after a key prefix ``where``; a
    command-line option (``where`` ``--`` or ``--probe-``) for the field ``n_max``: ``--n-max``."""
    if where.startswith("--"):
        return where + "-".join(str(p) for p in loc).replace("_", "-")
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return where + key if where.endswith(".") else key


def _where(where: str, loc: tuple[Any, ...]) -> str:
    """``where: a.b[0].c`` for ``loc`` ``("a", "b", 0, "c")``; a ``where`` ending with a dot is a
    key prefix (``method_kwargs.`` -> ``method_kwargs.a.b[0].c``)."""
    key = _key(where, loc)
    if where.endswith(".") or where.startswith("--"):
        return key
    return f"{where}: {key}" if key else where


def _fields_at(cls: type, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the record found at ``loc`` inside ``cls`` (through lists and Optionals)."""
    tp: Any = cls
    for part in loc:
        if isinstance(part, str):
            tp = get_type_hints(tp).get(part)
        tp = next((a for a in (tp, *get_args(tp)) if dataclasses.is_dataclass(a)), tp)
    return [f.name for f in dataclasses.fields(tp)] if dataclasses.is_dataclass(tp) else []


# ---------------------------------------------------------------- the record's fields, described


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """What a record says about one field: its base type (``int``, ``float``, ``str``, ``bool``,
    ``Path``, or ``tuple`` / ``list`` of one of them), whether ``None`` is allowed, the allowed
    values, the default (``dataclasses.MISSING`` when required) and the help text."""

    name: str
    base: Any
    item: Any  # the element type of a tuple / list field, else None
    optional: bool
    choices: tuple[Any, ...] | None
    default: Any
    help: str
    record: type | None  # a nested record's class, else None


def describe(cls: type) -> list[FieldInfo]:
    """The fields of the record ``cls``, in declaration order."""
    hints = get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        base, meta = _unwrap(hints[f.name])
        optional = False
        if get_origin(base) in (Union, types.UnionType):
            args = [a for a in get_args(base) if a is not type(None)]
            optional = len(args) < len(get_args(base))
            base, more = _unwrap(args[0]) if len(args) == 1 else (base, [])
            meta += more
        item = None
        if get_origin(base) in (tuple, list):
            item = _unwrap(get_args(base)[0])[0]
            base = get_origin(base)
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else f.default_factory()
            if f.default_factory is not dataclasses.MISSING
            else dataclasses.MISSING
        )
        choices = next((m.values for m in meta if isinstance(m, Choices)), None)
        text = next((m.text for m in meta if isinstance(m, Doc)), "")
        record = base if isinstance(base, type) and dataclasses.is_dataclass(base) else None
        out.append(FieldInfo(f.name, base, item, optional, choices, default, text, record))
    return out


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """``Annotated[T, m1, m2]`` (nested ones flattened) -> ``(T, [m1, m2])``."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        tp, *extra = get_args(tp)
        meta += extra
    return tp, meta


def show(value: Any) -> str:
    """A default as the user writes it (``null``, ``true``, ``0.2``, ``[0, 1]``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


# ---------------------------------------------------------------- the command line


def flag(name: str, prefix: str = "") -> str:
    """The command-line option of field ``name``: ``n_max`` -> ``--n-max`` (``prefix`` ``probe-``
    -> ``--probe-n-max``)."""
    return "--" + prefix + name.replace("_", "-")


def add_arguments(
    parser: argparse.ArgumentParser | Any,
    cls: type,
    *,
    prefix: str = "",
    skip: Sequence[str] = (),
    required: Sequence[str] = (),
    defaults: dict[str, Any] | None = None,
) -> None:
    """One option per field of the record ``cls`` (not in ``skip``): its type, choices, help and
    shown default come from the record, and an option left out keeps the record's default (the
    value is not set on the namespace). Booleans defaulting to false are switches (``--replace``),
    those defaulting to true take ``--no-<name>``; tuples and lists take several values. Nested
    records are left to the caller. ``required`` options must be given; ``defaults`` shows another
    default in the help (one the command fills in itself)."""
    for info in describe(cls):
        if info.name in skip or info.record is not None:
            continue
        option = flag(info.name, prefix)
        dest = (prefix + info.name).replace("-", "_")
        shown = (defaults or {}).get(info.name, info.default)
        help_text = info.help or info.name.replace("_", " ")
        if shown is not dataclasses.MISSING and not (info.base is bool and shown is False):
            help_text += f" (default: {show(shown)})"
        kwargs: dict[str, Any] = {"dest": dest, "help": help_text, "default": argparse.SUPPRESS}
        if info.base is bool:
            if info.default is True:
                option = flag("no_" + info.name, prefix)
                kwargs.update(action="store_false")
            else:
                kwargs.update(action="store_true")
        else:
            kind = info.item if info.item is not None else info.base
            kwargs["type"] = _parse_value(kind, info.optional)
            if info.item is not None:
                kwargs["nargs"] = "+"
            if info.choices is not None:
                kwargs["choices"] = list(info.choices)
            if info.name in required:
                kwargs["required"] = True
            kwargs["metavar"] = info.name.upper() if info.choices is None else None
        parser.add_argument(option, **kwargs)


def _parse_value(kind: Any, optional: bool) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        if optional and text.lower() in ("none", "null"):
            return None
        if kind is Path:
            return Path(text).expanduser()
        if kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{text!r} is not {'an integer' if kind is int else 'a number'}"
                ) from None
        return text

    convert.__name__ = getattr(kind, "__name__", "value")
    return convert


def given(cls: type, namespace: argparse.Namespace, *, prefix: str = "") -> dict[str, Any]:
    """The fields of ``cls`` given on the command line (see :func:`add_arguments`)."""
    values = vars(namespace)
    out = {}
    for info in describe(cls):
        dest = (prefix + info.name).replace("-", "_")
        if dest in values:
            value = values[dest]
            out[info.name] = tuple(value) if info.base is tuple else value
    return out


def from_arguments(
    cls: type[T], namespace: argparse.Namespace, *, prefix: str = "", **fill: Any
) -> T:
    """The record ``cls`` from the options :func:`add_arguments` declared (and ``fill``: values
    the command supplies itself); errors name the option (``--n-max must be ...``)."""
    return parse(cls, {**fill, **given(cls, namespace, prefix=prefix)}, "--" + prefix)


# ---------------------------------------------------------------- the docs


def knob_table(
    cls: type,
    *,
    key_prefix: str = "",
    defaults: dict[str, str] | None = None,
    skip: Sequence[str] = (),
) -> str:
    """The Markdown table ``| key | default | meaning |`` of the record ``cls`` (nested records
    as ``<name>.<field>`` rows); ``defaults`` replaces a shown default (``data.num_classes``);
    fields in ``skip`` are left out (shared blocks documented elsewhere)."""
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    rows += _knob_rows(cls, key_prefix, defaults or {}, skip)
    return "\n".join(rows) + "\n"


def _knob_rows(
    cls: type, prefix: str, defaults: dict[str, str], skip: Sequence[str] = ()
) -> list[str]:
    rows = []
    for info in describe(cls):
        if info.name in skip:
            continue
        key = prefix + info.name
        if info.record is not None:
            rows += _knob_rows(info.record, key + ".", defaults)
            continue
        default = defaults.get(key, "required" if info.default is dataclasses.MISSING else None)
        shown = default if default is not None else show(info.default)
        meaning = info.help
        if info.choices is not None:
            meaning += "; one of " + ", ".join(f"`{show(c)}`" for c in info.choices)
        rows.append(f"| `{key}` | {shown} | {meaning} |")
    return rows


def replace_block(text: str, tag: str, block: str) -> str:
    """``text`` with the lines between ``<!-- <tag>:begin -->`` and ``<!-- <tag>:end -->``
    replaced by ``block`` (markers kept).

    Raises:
        ValueError: a marker is missing.
    """
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    if begin not in text or end not in text:
        raise ValueError(f"no {begin} ... {end} block")
    head, rest = text.split(begin, 1)
    return head + begin + "\n" + block + end + rest.split(end, 1)[1]


# ---------------------------------------------------------------- keys named outside parse


def key_name(where: str, name: str) -> str:
    """The key of the field ``name`` as :func:`parse` names it after ``where``, for the rules
    that need the data (a count above what a class holds): ``n_max`` (``where`` empty),
    ``data.long_tail.n_max``, ``--n-max``."""
    return _key(where, (name,))


def option_table(
    cls: type, *, prefix: str = "", skip: Sequence[str] = (), defaults: dict[str, str] | None = None
) -> str:
    """The Markdown table ``| option | default | meaning |`` of the options :func:`add_arguments`
    makes from the record ``cls`` (same ``prefix`` and ``skip``); ``defaults`` replaces a shown
    default (one the command fills in itself). Switches show ``off``."""
    rows = ["| option | default | meaning |", "| --- | --- | --- |"]
    for info in describe(cls):
        if info.name in skip or info.record is not None:
            continue
        option = flag(info.name, prefix)
        default = (defaults or {}).get(info.name)
        if info.base is bool:
            option = flag("no_" + info.name, prefix) if info.default is True else option
            default = default or "off"
        elif default is None:
            missing = info.default is dataclasses.MISSING
            default = "required" if missing else show(info.default)
        meaning = info.help
        if info.choices is not None:
            meaning += "; one of " + ", ".join(f"`{show(c)}`" for c in info.choices)
        rows.append(f"| `{option}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"
