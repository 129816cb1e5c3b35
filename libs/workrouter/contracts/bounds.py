"""The bounds of what workrouter accepts from outside: every value a service behind the edge can hold.

One place for the REST api and the `wr.capture` topic alike (docs/capture.md, "Bounds"). A value
outside these is refused where it enters, naming the field, instead of failing later in a service
that cannot store it (PostgreSQL text refuses U+0000; Python's datetime ends at year 9999).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StrictInt

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
MAX_DURATION_SECONDS = 10 * 366 * 86_400  # an SLA or OLA of at most ten years
MAX_INT = 2**63 - 1  # a JSON integer in attributes: what a bigint (and every JSON consumer) holds
MAX_DEPTH = 8  # nesting of objects and arrays inside attributes
MAX_KEY_CHARS = 256
URL_SCHEMES = ("http", "https")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def check_text(value: str) -> str:
    """Refuse U+0000 (PostgreSQL text and jsonb cannot hold it) and lone surrogates (not UTF-8)."""
    found = _UNSTORABLE.search(value)
    if found is not None:
        what = "U+0000 (NUL)" if found.group() == "\x00" else f"a lone surrogate U+{ord(found.group()):04X}"
        raise ValueError(f"must not contain {what} (at character {found.start()})")
    return value


def printable(value: str) -> str:
    """`value` with control characters, NUL and lone surrogates written as escapes, for messages."""
    return "".join(ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else f"\\u{ord(ch):04x}" for ch in value)


def check_name(value: str) -> str:
    """An identifier: no control characters at all, and no surrounding white space."""
    check_text(value)
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    if value != value.strip():
        raise ValueError("must not start or end with white space")
    return value


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host: what a browser may open as a screen pop."""
    check_name(value)
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain white space")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in URL_SCHEMES:
        raise ValueError(f"must be an http or https URL, got scheme {parts.scheme or '(none)'!r}")
    if not host:
        raise ValueError("must be an absolute URL with a host, e.g. https://crm.example.com/cases/1")
    return value


def check_time(value: datetime) -> datetime:
    """A time that stays within PostgreSQL's and Python's range after conversion to UTC, with room for SLAs."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"out of range: give a time between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} UTC") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError(f"out of range: give a time between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} UTC")
    return value


def json_errors(value: Any, path: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """What in a JSON value a service cannot hold: (dotted path, message) pairs; empty when all is well."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str):
        return _text_error(value, path)
    if isinstance(value, int):
        return [] if -MAX_INT - 1 <= value <= MAX_INT else [(path, f"integer out of range (at most {MAX_INT:,})")]
    if isinstance(value, float):
        return [] if math.isfinite(value) else [(path, "must be a finite number (NaN and Infinity are not JSON)")]
    if isinstance(value, dict | list):
        return _container_errors(value, path, depth)
    return [(path, f"not a JSON value: {type(value).__name__}")]


def _container_errors(value: dict[Any, Any] | list[Any], path: str, depth: int) -> list[tuple[str, str]]:
    """json_errors of an object's keys and values or an array's items (the first 20 or so)."""
    if depth >= MAX_DEPTH:
        return [(path, f"nested deeper than {MAX_DEPTH} levels")]
    errors: list[tuple[str, str]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        shown = printable(str(key))  # an error message must itself be storable and sendable
        where = f"{path}.{shown}" if path else shown
        if isinstance(key, str):
            errors += [(where, f"key {m}") for _, m in _text_error(key, where)]
            if len(key) > MAX_KEY_CHARS:
                errors.append((where, f"key longer than {MAX_KEY_CHARS} characters"))
        errors += json_errors(item, where, depth + 1)
        if len(errors) >= 20:
            break
    return errors


def _text_error(value: str, path: str) -> list[tuple[str, str]]:
    try:
        check_text(value)
    except ValueError as exc:
        return [(path, str(exc))]
    return []


def check_json_object(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON object a service can store and evaluate (see json_errors)."""
    errors = json_errors(value)
    if errors:
        raise ValueError("; ".join(f"{path or '<root>'}: {msg}" for path, msg in errors))
    return value


Text = Annotated[str, AfterValidator(check_text)]
"""Free text: anything but U+0000 and lone surrogates."""
Name = Annotated[str, AfterValidator(check_name)]
"""An identifier or code: no control characters, no surrounding white space."""
Url = Annotated[str, Field(max_length=2048), AfterValidator(check_url)]
"""An absolute http(s) URL."""
Duration = Annotated[StrictInt, Field(gt=0, le=MAX_DURATION_SECONDS)]
"""Whole seconds, 1 to ten years; a JSON integer, never a string, float or boolean."""
Priority = Annotated[StrictInt, Field(ge=0, le=1000)]
"""A priority from 0 to 1000; a JSON integer, never a string, float or boolean."""
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_object)]
"""Free metadata: storable text, finite numbers, 64-bit integers, at most MAX_DEPTH levels."""
