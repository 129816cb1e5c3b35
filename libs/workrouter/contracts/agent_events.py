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


class AgentProfileChanged(Payload):
    """A supervisor added, edited or removed an agent, or switched one of its queues on or off, while the
    system runs (the live agent directory: config/live_agents.py). Published once by the api, keyed by the
    first routing domain the change touches; the routers of every touched domain are told on `wr.routing`."""

    event_type = "workrouter.agent.profile_changed"

    agent_id: str = Field(min_length=1, description="The agent changed.")
    domain: str = Field(min_length=1, description="The first routing domain the change touches (the message key).")
    change: Literal["added", "changed", "removed"] = Field(
        description="added: not an agent before; changed: skills, queues, capacity or queues switched; removed."
    )
    by: str = Field(min_length=1, description="The supervisor who made the change.")
    skills: dict[str, int] = Field(default_factory=dict, description="Skill -> level, after the change.")
    queues: list[str] = Field(default_factory=list, description="Queues the agent is a member of, after the change.")
    inactive_queues: list[str] = Field(default_factory=list, description="Of `queues`, those switched off.")
    capacity: dict[str, int] = Field(default_factory=dict, description="Channel -> most tasks at once, after.")
