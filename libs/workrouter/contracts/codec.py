"""JSON (de)serialisation of envelopes, with errors that say what is wrong."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from workrouter.contracts import strict_json
from workrouter.contracts.envelope import Envelope, Payload
from workrouter.contracts.refused import refused
from workrouter.contracts.registry import REGISTRY, PayloadRegistry, UnknownEventTypeError

MAX_MESSAGE_BYTES = 1_000_000


class DecodeError(ValueError):
    """A message that can never be decoded: dead-letter it with this reason."""


def encode(envelope: Envelope) -> bytes:
    """Serialise an envelope to compact UTF-8 JSON (CloudEvents structured mode).

    Only the optional envelope attribute `subject` is left out when empty; payload nulls
    are kept, because a payload field may be required and still allow null. A merge-patch
    payload (an update) carries only the fields that were set, so "not sent" survives the trip.
    """
    exclude = {"subject"} if envelope.subject is None else set()
    if not envelope.data.merge_patch:
        return envelope.model_dump_json(exclude=exclude or None).encode()
    doc = envelope.model_dump(mode="json", exclude={*exclude, "data"})
    doc["data"] = envelope.data.model_dump(mode="json", exclude_unset=True)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def describe(exc: ValidationError, prefix: str = "") -> str:
    """Turn a pydantic error into `path: message; ...`."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        parts.append(f"{loc or '<root>'}: {err['msg']}")
    return "; ".join(parts)


def decode(raw: bytes, registry: PayloadRegistry = REGISTRY, max_bytes: int = MAX_MESSAGE_BYTES) -> Envelope:
    """Parse and validate a message, upcasting old payload versions; raise DecodeError if impossible."""
    if len(raw) > max_bytes:
        raise DecodeError(f"message is {len(raw)} bytes, over the {max_bytes} byte limit")
    try:
        doc: Any = strict_json.loads(raw, max_nesting=None)  # payload models bound what they hold
    except strict_json.JsonRefusedError as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None
    event_type, data, version = _attributes(doc)
    try:
        model = registry.model(event_type)
        data = registry.upcast(event_type, version, data)
    except UnknownEventTypeError as exc:
        raise DecodeError(str(exc)) from None
    try:
        payload: Payload = model.model_validate(data)
    except ValidationError as exc:
        if not model.refusable:
            raise DecodeError(f"invalid {event_type}: {describe(exc)}") from None
        payload = refused(event_type, data, exc)  # readable, and answered by its consumer
    try:
        fields = {**doc, "data": payload, "dataversion": model.version, "dataschema": model.dataschema()}
        return Envelope.model_validate(fields)
    except ValidationError as exc:
        raise DecodeError(f"invalid {event_type}: {describe(exc)}") from None


def _attributes(doc: Any) -> tuple[str, dict[str, Any], int]:
    """A CloudEvent's type, data and data version, checked before the payload is looked at."""
    if not isinstance(doc, dict):
        raise DecodeError(f"expected a JSON object (a CloudEvent), got {type(doc).__name__}")
    event_type, data = doc.get("type"), doc.get("data")
    if doc.get("specversion") != "1.0":
        raise DecodeError(f"'specversion' must be \"1.0\" (CloudEvents 1.0), got {doc.get('specversion')!r}")
    if not isinstance(event_type, str):
        raise DecodeError("missing or non-string 'type' attribute")
    if not isinstance(data, dict):
        raise DecodeError("missing 'data' object")
    version = doc.get("dataversion", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DecodeError(f"'dataversion' must be a positive integer, got {version!r}")
    return event_type, data, version
