"""What could not be processed, and why (`wr.deadletter`)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from workrouter.contracts.envelope import Payload


class DeadLettered(Payload):
    """A message was set aside so that its partition keeps flowing."""

    event_type = "workrouter.system.dead_lettered"

    topic: str = Field(description="Topic the message came from.")
    partition: int
    offset: int
    key: str | None
    group: str = Field(description="Consumer group that gave up on it.")
    reason: str = Field(description="Why, in words an operator can act on.")
    error_type: str = Field(description="Class of the error: decode, rejected, or the exception name.")
    attempts: int = Field(ge=1)
    value: str = Field(description="The original message value (text, or base64 when not UTF-8).")
    value_encoding: Literal["utf-8", "base64"]
    failed_at: AwareDatetime
