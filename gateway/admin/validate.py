"""Strict checks of what the admin API is sent, and the JSON Schema of the same rules.

Each field is made by one of the kinds below (:func:`msisdn`, :func:`text`, :func:`fen`, :func:`choice`,
:func:`instant`), which derive both the check and the schema from the same arguments, so the OpenAPI
document cannot say something the check does not do. A :class:`Body` refuses unknown fields, missing
required ones, and values of the wrong kind, naming the field; it never accepts a float or a bool for an
integer, nor a number for a string.

Whatever is sent, the refusal can be written: a body nested deeper than :data:`MAX_DEPTH` is refused
before it is looked at, an instant must lie between :data:`EARLIEST` and :data:`LATEST` (so no date
arithmetic on it overflows), an integer in a query (:func:`query_integer`) must fit SQLite's 64-bit
integer, and a name or value quoted back has its lone surrogates (``"\\ud800"`` in the JSON) written as
backslash escapes (:func:`safe`), since they cannot be encoded as UTF-8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.errors import RequestRefused

Check = Callable[[object], str | None]  # the problem with a value, or None

MSISDN_PATTERN = "^1[0-9]{10}$"
REFERENCE_PATTERN = "^[A-Za-z0-9._:-]{1,64}$"
_SHOWN_MAX = 40

MAX_DEPTH = 32
"""Arrays and objects nested in a body at most (a usage batch is 3 deep)."""

SQL_INTEGER_MAX = 2**63 - 1
"""The largest integer SQLite stores: an id or seq above it cannot be one."""

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""An instant is taken from EARLIEST up to, not including, LATEST."""

_DIGITS = re.compile("[0-9]{1,19}", re.ASCII)


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    name: str
    check: Check
    schema: Mapping[str, object]
    required: bool = True
    default: object = None


def msisdn(name: str = "msisdn", *, description: str = "a mainland mobile number: 11 digits starting with 1") -> Field:
    return pattern(name, MSISDN_PATTERN, rule="11 digits starting with 1", description=description)


def pattern(name: str, regex: str, *, rule: str, description: str) -> Field:
    """A string that matches ``regex`` (ASCII only: a full-width digit is not a digit here)."""
    compiled = re.compile(regex, re.ASCII)

    def check(value: object) -> str | None:
        if isinstance(value, str) and compiled.fullmatch(value):
            return None
        return f"must be a string of {rule}, got {shown(value)}"

    return Field(name=name, check=check, schema={"type": "string", "pattern": regex, "description": description})


def text(
    name: str,
    *,
    max_length: int,
    description: str,
    one_line: bool = True,
    required: bool = True,
) -> Field:
    """A string of 1 to ``max_length`` characters, not blank, without control characters (but line breaks
    when ``one_line`` is false)."""
    allowed = "" if one_line else "\n"

    def check(value: object) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return f"must be a non-empty string, got {shown(value)}"
        if len(value) > max_length:
            return f"must be at most {max_length} characters, got {len(value)}"
        if any(not c.isprintable() and c not in allowed for c in value):
            return "must not contain control characters" + ("" if one_line else " other than line breaks")
        return None

    schema = {"type": "string", "minLength": 1, "maxLength": max_length, "description": description}
    return Field(name=name, check=check, schema=schema, required=required)


def fen(name: str, *, minimum: int, maximum: int, description: str, default: int | None = None) -> Field:
    """Money: a whole number of fen (a JSON integer: ``10.5``, ``10.0``, ``"10"`` and ``true`` are refused)."""

    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number of fen (a JSON integer), got {shown(value)}"
        if not minimum <= value <= maximum:
            return f"must be between {minimum} and {maximum} fen, got {value}"
        return None

    schema: dict[str, object] = {"type": "integer", "minimum": minimum, "maximum": maximum, "description": description}
    if default is not None:
        schema["default"] = default
    return Field(name=name, check=check, schema=schema, required=default is None, default=default)


def choice(
    name: str, choices: Sequence[str], *, description: str, default: str | None = None, required: bool = True
) -> Field:
    """One of ``choices``; optional when it has a ``default`` or is not ``required``."""
    listed = ", ".join(choices)

    def check(value: object) -> str | None:
        return None if isinstance(value, str) and value in choices else f"must be one of {listed}, got {shown(value)}"

    schema: dict[str, object] = {"type": "string", "enum": list(choices), "description": description}
    if default is not None:
        schema["default"] = default
    return Field(name=name, check=check, schema=schema, required=required and default is None, default=default)


def instant(name: str, *, description: str) -> Field:
    """An ISO 8601 time with its offset, from :data:`EARLIEST` up to :data:`LATEST`."""
    example = "such as 2026-11-23T10:00:00+08:00"
    span = f"from {EARLIEST.date().isoformat()} up to {LATEST.date().isoformat()} (UTC)"

    def check(value: object) -> str | None:
        if not isinstance(value, str):
            return f"must be an ISO 8601 time with its offset, got {shown(value)}"
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return f"must be an ISO 8601 time with its offset, {example}, got {shown(value)}"
        if parsed.tzinfo is None:
            return f"must carry its offset (+08:00), got {shown(value)}"
        if not EARLIEST <= parsed < LATEST:
            return f"must be a time {span}, got {shown(value)}"
        return None

    schema = {"type": "string", "format": "date-time", "description": f"{description}; {span}"}
    return Field(name=name, check=check, schema=schema)


def query_integer(query: Mapping[str, str], name: str, *, default: int, maximum: int = SQL_INTEGER_MAX) -> int:
    """The whole number ``query[name]`` (ASCII digits, 0 to ``maximum``), ``default`` when it is not given,
    or RequestRefused (400 bad_field) naming it."""
    raw = query.get(name)
    if raw is None:
        return default
    if _DIGITS.fullmatch(raw) and int(raw) <= maximum:
        return int(raw)
    raise RequestRefused(400, "bad_field", f"{name}: must be digits, 0 to {maximum}, got {shown(raw)}", field=name)


@dataclass(frozen=True, slots=True)
class Body:
    """A JSON object with exactly these fields; ``name`` is its schema's name in the OpenAPI document."""

    name: str
    fields: tuple[Field, ...]
    description: str = ""

    def parse(self, value: object) -> dict[str, Any]:
        """The checked fields (defaults filled in), or RequestRefused naming the first field at fault."""
        if not isinstance(value, dict):
            raise RequestRefused(400, "bad_json", "the body must be a JSON object")
        known = {f.name: f for f in self.fields}
        for name in value:
            if name not in known:
                listed = ", ".join(known)
                named = safe(str(name))
                raise RequestRefused(400, "unknown_field", f"{named}: unknown field (known: {listed})", field=named)
        checked: dict[str, Any] = {}
        for f in self.fields:
            if f.name not in value:
                if f.required:
                    raise RequestRefused(400, "bad_field", f"{f.name}: is required", field=f.name)
                checked[f.name] = f.default
                continue
            refuse(f, value[f.name])
            checked[f.name] = value[f.name]
        return checked

    def schema(self) -> dict[str, object]:
        schema: dict[str, object] = {
            "type": "object",
            "additionalProperties": False,
            "required": [f.name for f in self.fields if f.required],
            "properties": {f.name: dict(f.schema) for f in self.fields},
        }
        if self.description:
            schema["description"] = self.description
        return schema


def refuse(field: Field, value: object) -> None:
    """RequestRefused (400 bad_field, naming the field) unless ``value`` passes the field's check."""
    problem = field.check(value)
    if problem is not None:
        raise RequestRefused(400, "bad_field", f"{field.name}: {problem}", field=field.name)


def parse_json(raw: bytes) -> object:
    """The JSON value of a request body; a key given twice is refused rather than silently overwritten, and
    a body nested deeper than :data:`MAX_DEPTH` is refused whole."""
    too_deep = RequestRefused(400, "bad_json", f"the body nests arrays and objects more than {MAX_DEPTH} deep")
    try:
        value = json.loads(raw, object_pairs_hook=_no_doubles)
    except _DoubledKey as doubled:
        key = safe(doubled.key)
        raise RequestRefused(400, "bad_json", f"{key}: given twice", field=key) from None
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise RequestRefused(400, "bad_json", f"the body is not JSON: {safe(str(exc))}") from None
    if _depth(value) > MAX_DEPTH:
        raise too_deep
    return value


def _depth(value: object) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar is 0, ``[]`` is 1), level by level."""
    depth = 0
    level = [value]
    while containers := [v for v in level if isinstance(v, list | dict)]:
        depth += 1
        level = [item for c in containers for item in (c.values() if isinstance(c, dict) else c)]
    return depth


class _DoubledKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_doubles(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DoubledKey(key)
        found[key] = value
    return found


def shown(value: object) -> str:
    """A value as quoted in a refusal: its JSON, cut short (lone surrogates as escapes)."""
    text = json.dumps(value, ensure_ascii=False)
    return safe(text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + "…")


def safe(text: str) -> str:
    """``text`` with each lone surrogate (which UTF-8 cannot encode) written as its escape: ``\\ud800``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
