"""The router's agents.yaml: who the agents are, what they can do, how much at once, and how they sign in."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator

from workrouter.config.routing_types import SKILL_PATTERN, Label, Level, SkillName, located, refuse_repeats
from workrouter.domain.names import NAME_PATTERN, Name
from workrouter.domain.routing.model import AgentProfile

MAX_CAPACITY = 100
_DEFAULT = AgentProfile(agent_id="default")


def _keys(pattern: str) -> dict[str, Any]:
    return {"additionalProperties": False, "propertyNames": {"pattern": pattern}}


class AgentFields(BaseModel):
    """What an agent is for routing, as agents.yaml and a supervisor's live change both say it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skills: dict[SkillName, Level] = Field(
        default_factory=dict, json_schema_extra=_keys(SKILL_PATTERN), description="Skill name -> level 0..100."
    )
    queues: list[Name] = Field(
        min_length=1,
        description="Queues the agent serves; queues of several routing domains make a blended agent (decisions D21).",
    )
    capacity: dict[Name, Annotated[int, Field(strict=True, ge=1, le=MAX_CAPACITY)]] = Field(
        default_factory=lambda: dict(_DEFAULT.capacity),
        min_length=1,
        json_schema_extra=_keys(NAME_PATTERN),
        description="Channel -> most tasks held at once on it.",
    )
    exclusive_channels: list[Name] = Field(
        default_factory=list, description="Channels taken only alone, blocking the others (e.g. voice)."
    )
    auto_answer: StrictBool = Field(default=_DEFAULT.auto_answer, description="Offers are accepted without a click.")

    @field_validator("queues")
    @classmethod
    def _distinct_queues(cls, queues: list[str]) -> list[str]:
        refuse_repeats(queues, "queue")
        return queues

    @field_validator("exclusive_channels")
    @classmethod
    def _exclusive_have_capacity(cls, channels: list[str], info: ValidationInfo) -> list[str]:
        refuse_repeats(channels, "channel")
        capacity: dict[str, int] | None = info.data.get("capacity")
        for i, channel in enumerate(channels):
            if capacity is not None and channel not in capacity:
                known = ", ".join(capacity)
                raise located(f"channel {channel!r} has no capacity; the agent's channels: {known}", i)
        return channels

    def profile(self, agent_id: str, queues: frozenset[str] | None = None) -> AgentProfile:
        """The routing domain's profile of this agent (with `queues` instead of all of them, if given)."""
        return AgentProfile(
            agent_id=agent_id,
            skills=dict(self.skills),
            queues=frozenset(self.queues) if queues is None else queues,
            capacity=dict(self.capacity),
            exclusive_channels=frozenset(self.exclusive_channels),
            auto_answer=self.auto_answer,
        )


class AgentConfig(AgentFields):
    """One agent as configured: skills, queues, capacity per channel and the hash of its API token."""

    id: Name = Field(description="Agent id, used by the agent API and in events.")
    display_name: Label = Field(description="The name shown to supervisors and in reports.")
    supervisor: StrictBool = Field(
        default=False,
        description="May use the supervisor API in its domain: force-assign, park, explain any task.",
    )
    token_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the agent's static API token: `workrouter hash-key <token>`.",
    )
    password_argon2: str | None = Field(
        default=None,
        pattern=r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$",
        description="Argon2id hash of the agent's password for POST /v1/auth/token: `workrouter hash-password`.",
    )

    def to_profile(self) -> AgentProfile:
        """The routing domain's profile of this agent."""
        return self.profile(self.id)


class AgentsConfigFile(BaseModel):
    """The agents.yaml document."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="workrouter agents")

    agents: list[AgentConfig] = Field(min_length=1)

    @field_validator("agents")
    @classmethod
    def _distinct(cls, agents: list[AgentConfig]) -> list[AgentConfig]:
        refuse_repeats([a.id for a in agents], "agent id", "id")
        # an agent without a static token gets a unique stand-in, so the error's index is the agent's
        refuse_repeats([a.token_sha256 or object() for a in agents], "token hash", "token_sha256")
        return agents
