"""Agent presence and actions on `wr.agents` (key: routing domain)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workrouter.contracts.envelope import Payload

Presence = Literal["offline", "ready", "not_ready"]


class AgentPresenceChanged(Payload):
    """An agent logged in or out, became ready or not ready (with a reason code)."""

    event_type = "workrouter.agent.presence_changed"

    agent_id: str = Field(min_length=1, description="The agent whose presence changed.")
    domain: str = Field(min_length=1, description="Routing domain the agent works in.")
    presence: Presence = Field(
        description="offline: logged out; ready: takes work; not_ready: logged in but takes none (see reason)."
    )
    reason: str | None = Field(default=None, description="Not-ready reason id from codes.yaml, e.g. lunch, rona.")
