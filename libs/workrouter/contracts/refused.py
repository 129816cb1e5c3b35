"""A command from a source system that breaks the capture contract, kept so that it can be answered."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import Field, ValidationError

from workrouter.contracts.bounds import check_name
from workrouter.contracts.common import FieldError
from workrouter.contracts.envelope import Payload

MAX_ORIGINAL_CHARS = 64 * 1024
PayloadT = TypeVar("PayloadT", bound=Payload)


class RefusedCommand(Payload):
    """A readable command whose payload breaks its contract. Never on the wire: the codec makes it
    for a `refusable` type, and capture answers it with TaskRejected (and the source's callback)."""

    event_type = "workrouter.command.refused"

    command_type: str = Field(description="The type the source sent.")
    source: str | None = Field(default=None, description="The source named in the payload, when storable.")
    external_id: str | None = Field(default=None, description="The external id, when storable.")
    errors: list[FieldError] = Field(min_length=1, description="Every problem found, by field.")
    original: str = Field(description="The payload as JSON text (non-ASCII escaped, truncated to 64 KiB).")


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """A pydantic error as FieldErrors with dotted paths."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        errors.append(FieldError(loc=loc or "body", msg=err["msg"]))
    return errors


def _storable(value: Any, max_chars: int) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= max_chars:
        return None
    try:
        return check_name(value)
    except ValueError:
        return None


def refused(event_type: str, data: Any, exc: ValidationError) -> RefusedCommand:
    """The refusal of `data` as `event_type`, with what could be read of whose it is."""
    doc = data if isinstance(data, dict) else {}
    try:
        original = json.dumps(data, ensure_ascii=True, default=str)[:MAX_ORIGINAL_CHARS]
    except (ValueError, RecursionError):  # too deep to write out again: keep what can be said
        original = repr(data)[:MAX_ORIGINAL_CHARS].encode("ascii", "backslashreplace").decode()
    return RefusedCommand(
        command_type=event_type,
        source=_storable(doc.get("source"), 64),
        external_id=_storable(doc.get("external_id"), 256),
        errors=field_errors(exc),
        original=original,
    )


def refuse_or_validate(model: type[PayloadT], data: Any) -> PayloadT | RefusedCommand:
    """`data` as `model`, or its refusal."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return refused(model.event_type, data, exc)
