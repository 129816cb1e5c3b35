"""The CloudEvents 1.0 envelope every workrouter event travels in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from workrouter.contracts.common import Timestamp

SPEC_VERSION: Literal["1.0"] = "1.0"
CONTENT_TYPE: Literal["application/json"] = "application/json"
_EVENT_TYPE = re.compile(r"^workrouter\.[a-z]+(\.[a-z_]+)+$")

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the data of one version of a payload into the data of the next version."""


class Payload(BaseModel):
    """Base of every event and command payload; subclasses name their wire type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    upcasters: ClassVar[Mapping[int, Upcaster]] = {}
    """How data of an older version is read: `{n: f}` where `f` turns vn data into v(n+1) data, one for each
    n from 1 to version - 1 (the registry refuses a gap). Declared beside the fields they upgrade."""
    merge_patch: ClassVar[bool] = False
    """True for partial-update payloads: fields left out mean "unchanged" and an explicit null
    means "clear" (JSON Merge Patch, RFC 7396), so the codec writes only the fields that were set."""
    refusable: ClassVar[bool] = False
    """True for the commands of the public capture contract: a readable message whose payload breaks
    the contract is decoded as a RefusedCommand, which capture answers with TaskRejected."""

    @classmethod
    def dataschema(cls) -> str:
        """The URN naming this payload's schema and version."""
        return schema_urn(cls.event_type, cls.version)


def schema_urn(event_type: str, version: int) -> str:
    """Schema URN for an event type at a version, e.g. `urn:workrouter:schema:workrouter.task.captured:1`."""
    return f"urn:workrouter:schema:{event_type}:{version}"


def new_event_id() -> str:
    """A fresh, globally unique event id."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Envelope(BaseModel):
    """A CloudEvents 1.0 event (structured JSON mode) carrying one payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = Field(default=SPEC_VERSION, description="CloudEvents version.")
    id: str = Field(min_length=1, description="Unique per event; consumers dedupe on it.")
    type: str = Field(pattern=_EVENT_TYPE.pattern, description="Event type, e.g. workrouter.task.captured.")
    source: str = Field(min_length=1, description="URI-reference of the producer, e.g. /workrouter/capture.")
    subject: str | None = Field(default=None, description="Task or agent id the event is about.")
    time: Timestamp = Field(description="When the event happened (RFC 3339 string with a time zone).")
    datacontenttype: Literal["application/json"] = Field(
        default=CONTENT_TYPE, description="Media type of `data`: always JSON."
    )
    dataschema: str = Field(description="URN of the payload schema, version included.")
    dataversion: int = Field(ge=1, description="Payload schema version (extension attribute).")
    partitionkey: str = Field(min_length=1, description="Kafka message key (CloudEvents partitioning extension).")
    data: SerializeAsAny[Payload] = Field(description="The payload.")


def make_event(
    data: Payload,
    *,
    source: str,
    key: str,
    subject: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> Envelope:
    """Wrap a payload in an envelope with a fresh id (or the one given, for idempotent re-emission)."""
    return Envelope(
        id=event_id or new_event_id(),
        type=data.event_type,
        source=source,
        subject=subject,
        time=time or utcnow(),
        dataschema=data.dataschema(),
        dataversion=data.version,
        partitionkey=key,
        data=data,
    )


def envelope_fields() -> dict[str, Any]:
    """JSON Schema properties of the envelope without its data (for AsyncAPI)."""
    schema = Envelope.model_json_schema()
    props: dict[str, Any] = dict(schema["properties"])
    props.pop("data")
    return props
