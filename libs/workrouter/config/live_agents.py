"""Agents changed while the system runs (issue 20): added, edited, removed, queues switched on and off.

agents.yaml is read at start; a supervisor's change is kept in the live directory (Redis, beside the
router's live state) and wins over the file for that agent from then on, across restarts, until the next
change. A removed agent is kept as a tombstone (None), so that an agent of the file stays removed. Each
process applies the directory to the configuration it read (`effective`): the api for sign-in and every
answer, the routers for their domains' members. Sign-in secrets stay in agents.yaml (or the identity
provider): an agent added live signs in through OIDC, or is given a token in the file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from pydantic import Field, ValidationInfo, field_validator

from workrouter.config.routing import RoutingConfig
from workrouter.config.routing_agents import AgentFields
from workrouter.config.routing_types import Label, located, refuse_repeats
from workrouter.domain.names import Name
from workrouter.domain.routing.model import AgentProfile


class LiveAgent(AgentFields):
    """An agent as a supervisor sets it: what agents.yaml says of an agent, but its id (the path names it) and
    sign-in secrets, plus the queues it is a member of but does not take work from now (switched off)."""

    display_name: Label | None = Field(default=None, description="The name shown to supervisors and in reports.")
    inactive_queues: list[Name] = Field(
        default_factory=list, description="Of `queues`, those switched off: no work from them until switched on."
    )

    @field_validator("inactive_queues")
    @classmethod
    def _members_only(cls, inactive: list[str], info: ValidationInfo) -> list[str]:
        refuse_repeats(inactive, "queue")
        queues = info.data.get("queues") or []
        for i, queue in enumerate(inactive):
            if queue not in queues:
                raise located(f"queue {queue!r} is not one of the agent's queues", i)
        return inactive

    @classmethod
    def of_profile(cls, profile: AgentProfile) -> LiveAgent:
        """The agent as a routing profile has it (every queue on)."""
        return cls(
            skills=dict(profile.skills),
            queues=sorted(profile.queues),
            capacity=dict(profile.capacity),
            exclusive_channels=sorted(profile.exclusive_channels),
            auto_answer=profile.auto_answer,
        )

    def to_profile(self, agent_id: str) -> AgentProfile:
        """The routing profile: the queues switched on only."""
        return self.profile(agent_id, frozenset(self.queues) - frozenset(self.inactive_queues))


Directory = Mapping[str, LiveAgent | None]  # agent id -> as a supervisor set it, None: removed


def problems(config: RoutingConfig, agent: LiveAgent) -> list[tuple[str, str]]:
    """(field, message) of what the configuration refuses: unknown queues, queues on channels without capacity."""
    found: list[tuple[str, str]] = []
    known = ", ".join(sorted(config.queues))
    for i, name in enumerate(agent.queues):
        queue = config.queues.get(name)
        if queue is None:
            found.append((f"body.queues[{i}]", f"unknown queue {name!r}; known: {known}"))
        elif queue.channel not in agent.capacity:
            found.append((f"body.queues[{i}]", f"queue {name!r} is on channel {queue.channel!r}: give it capacity"))
    return found


def effective(config: RoutingConfig, directory: Directory) -> RoutingConfig:
    """The configuration with the live directory applied: agents added, replaced or removed (a removed
    agent's static token and password no longer sign it in)."""
    if not directory:
        return config
    agents = dict(config.agents)
    for agent_id, agent in directory.items():
        if agent is None:
            agents.pop(agent_id, None)
        else:
            agents[agent_id] = agent.to_profile(agent_id)
    removed = {a for a, agent in directory.items() if agent is None}
    return dataclasses.replace(
        config,
        agents=agents,
        agent_tokens={a: h for a, h in config.agent_tokens.items() if a not in removed},
        agent_passwords={a: h for a, h in config.agent_passwords.items() if a not in removed},
    )


def encode(agent: LiveAgent | None) -> str:
    """How the directory keeps an entry (JSON; `null` for a removed agent)."""
    return "null" if agent is None else agent.model_dump_json()


def decode(raw: Mapping[str, str]) -> dict[str, LiveAgent | None]:
    """The directory from its stored entries."""
    return {
        agent_id: None if text == "null" else LiveAgent.model_validate(json.loads(text))
        for agent_id, text in raw.items()
    }
