"""The settings kit: typed, declarative records whose every error names the key, the allowed
values and the fix (pydantic v2 dataclasses; docs/developing.md says why).

A record is a ``pydantic.dataclasses.dataclass(frozen=True, config=SETTINGS)``, so
``dataclasses.asdict`` / ``replace`` / ``fields`` work on it. A field's rule sits beside its type
(``Annotated[int, Field(gt=0), rule("a positive number of bytes")]``, ``Annotated[float,
within(0, 1, "[)")]``, :data:`Count`, :data:`Flag`); rules across fields go in the record's
``model_validator(mode="after")`` through :func:`cross_check` / :func:`ordered`. :func:`parse`
turns a mapping into the record or raises one :class:`ConfigError` naming the first bad key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_args, get_type_hints

from pydantic import AfterValidator, ConfigDict, Strict, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

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


class ConfigError(ValueError):
    """A configuration value is missing or out of its allowed range."""


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


def one_of(*values: Any) -> AfterValidator:
    """Annotation: the value must be one of ``values`` (``<key> must be one of 'a', 'b'``)."""
    return check(lambda v: v in values, "must be one of " + ", ".join(map(repr, values)))


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
    """``data`` as the record ``cls``; ``ConfigError`` prefixed by ``where`` (a file, or a key
    prefix such as ``method_kwargs.``)."""
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
        if where.endswith("."):  # a key prefix: every key in full, as the user writes it
            listed = [
                (f"{name} keys", [_where(where, (*loc, k)) for k in keys])
                for name, keys in (("missing", missing), ("unknown", unknown))
                if keys
            ]
            return ", ".join(f"{n} {k}" for n, k in listed) + f"; known keys: {expected}"
        return (
            f"{_where(where, loc)}: missing keys {missing}, unknown keys {unknown}; "
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


def _key(where: str, loc: tuple[Any, ...]) -> str:
    """The key at ``loc`` as the user writes it: ``a.b[0].c``, after a key prefix ``where``."""
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return where + key if where.endswith(".") else key


def _where(where: str, loc: tuple[Any, ...]) -> str:
    """``where: a.b[0].c`` for ``loc`` ``("a", "b", 0, "c")``; a ``where`` ending with a dot is a
    key prefix (``method_kwargs.`` -> ``method_kwargs.a.b[0].c``)."""
    key = _key(where, loc)
    if where.endswith("."):
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
