"""Queues as the prioritiser needs them: a name and the routing domain that owns it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class QueueRef(BaseModel):
    """A queue's identity; the router's own configuration adds tiers, strategy and the rest."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    domain: str = Field(min_length=1, max_length=64, description="Routing domain: the set of queues sharing agents.")
    channel: str = "workitem"


class QueuesFile(BaseModel):
    """The queues.yaml document (the fields the prioritiser reads)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    queues: list[QueueRef] = Field(min_length=1)
