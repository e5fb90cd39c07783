"""The settings kit: typed, declarative records whose every error names the key, the allowed
values and the fix (pydantic v2 dataclasses; docs/developing.md says why).

A record is a ``pydantic.dataclasses.dataclass(frozen=True, config=SETTINGS)``, so
``dataclasses.asdict`` / ``replace`` / ``fields`` work on it. A field's rule sits beside its type
(``Annotated[int, Field(gt=0), rule("a positive number of bytes")]``); :func:`parse` turns a
mapping into the record or raises one :class:`ConfigError` naming the first bad key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from pydantic import AfterValidator, ConfigDict, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

T = TypeVar("T")
_KEY_ERRORS = ("missing", "unexpected_keyword_argument", "extra_forbidden")
_MAPPING_ERRORS = ("dataclass_type", "dataclass_args_type", "model_type", "dict_type")
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


def parse(cls: type[T], data: Any, where: str) -> T:
    """``data`` as the record ``cls``; ``ConfigError`` prefixed by ``where`` (a file, or a key
    prefix such as ``method_kwargs.``)."""
    try:
        return TypeAdapter(cls).validate_python(data)
    except ValidationError as err:
        raise ConfigError(_message(cls, err.errors(), where)) from None


def _message(cls: type, errors: list[Any], where: str) -> str:
    first = errors[0]
    loc, kind, got = tuple(first["loc"]), first["type"], first.get("input")
    if kind in _KEY_ERRORS:
        loc = loc[:-1]
        same = [e for e in errors if e["type"] in _KEY_ERRORS and tuple(e["loc"][:-1]) == loc]
        missing = sorted(str(e["loc"][-1]) for e in same if e["type"] == "missing")
        unknown = sorted(str(e["loc"][-1]) for e in same if e["type"] != "missing")
        return (
            f"{_where(where, loc)}: missing keys {missing}, unknown keys {unknown}; "
            f"expected {sorted(_fields_at(cls, loc))}"
        )
    head = _where(where, loc)
    if kind == "setting":
        return f"{head} {first['msg']} (got {got!r})"
    if kind in _MAPPING_ERRORS:
        return f"{head} must be a mapping (got {type(got).__name__})"
    return f"{head}: {first['msg']} (got {got!r})"


def _where(where: str, loc: tuple[Any, ...]) -> str:
    """``where: a.b[0].c`` for ``loc`` ``("a", "b", 0, "c")``; a ``where`` ending with a dot is a
    key prefix (``method_kwargs.`` -> ``method_kwargs.a.b[0].c``)."""
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if where.endswith("."):
        return where + key
    return f"{where}: {key}" if key else where


def _fields_at(cls: type, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the record found at ``loc`` inside ``cls`` (through lists and Optionals)."""
    tp: Any = cls
    for part in loc:
        if isinstance(part, str):
            tp = get_type_hints(tp).get(part)
        tp = next((a for a in (tp, *get_args(tp)) if dataclasses.is_dataclass(a)), tp)
    return [f.name for f in dataclasses.fields(tp)] if dataclasses.is_dataclass(tp) else []


def coerce(cls: type, kwargs: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Check ``kwargs`` against the dataclass ``cls``: unknown keys and wrong types raise
    ``ConfigError``; ``None`` means "use the default"; ints are accepted for floats."""
    hints = {f.name: get_type_hints(cls)[f.name] for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - set(hints))
    if unknown:
        raise ConfigError(
            f"unknown keys {[prefix + k for k in unknown]}; known keys: {sorted(hints)}"
        )
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        hint = hints[key]
        options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
        kind = next(a for a in options if a is not type(None))
        if kind is bool:
            require(isinstance(value, bool), prefix + key, "true or false", value)
        elif kind in (int, float, str):
            try:
                if kind is int and float(value) != int(value):
                    raise ValueError
                value = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{prefix}{key} must be of type {kind.__name__} (got {value!r})"
                ) from None
        out[key] = value
    return out
