"""What could not be processed, and why (`wr.deadletter`)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from workrouter.contracts.envelope import Payload


class DeadLettered(Payload):
    """A message was set aside so that its partition keeps flowing."""

    event_type = "workrouter.system.dead_lettered"

    topic: str = Field(description="Topic the message came from.")
    partition: int = Field(description="Partition of the message in `topic`.")
    offset: int = Field(description="Offset of the message in that partition.")
    key: str | None = Field(description="The message's key as text; None when it had none.")
    group: str = Field(description="Consumer group that gave up on it.")
    reason: str = Field(description="Why, in words an operator can act on.")
    error_type: str = Field(description="Class of the error: decode, rejected, or the exception name.")
    attempts: int = Field(
        ge=1, description="Delivery attempts before it was set aside (1 when it could not be decoded)."
    )
    value: str = Field(description="The original message value (text, or base64 when not UTF-8).")
    value_encoding: Literal["utf-8", "base64"] = Field(
        description="How `value` is written: utf-8 text, or base64 of bytes that are not UTF-8."
    )
    failed_at: AwareDatetime = Field(description="When the message was set aside.")
