"""What the engine decided, for the router service to carry out and publish (pure values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workrouter.domain.routing.model import SkillNeeds

How = Literal["offer", "auto_answer", "pull", "get_next", "force", "personal"]
RevokeReason = Literal["timeout", "rejected", "agent_offline", "withdrawn", "claim_timeout", "refused", "taken_back"]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A classified task as the router queues it."""

    task_id: str
    queue: str
    needs: SkillNeeds = ()
    base: int = 0
    business_value: float = 0.0
    due_at: float | None = None  # epoch seconds
    enqueued_at: float = 0.0  # epoch seconds; the wait clock
    preferred: tuple[str, ...] = ()  # agent ids, best first


@dataclass(frozen=True, slots=True)
class Offer:
    """The task goes to the agent: offered (push), or assigned outright (auto-answer, pull, force)."""

    task_id: str
    agent_id: str
    queue: str
    tier: int  # -1: as a preferred agent; -2: bypassing tiers (force, personal workbin)
    strategy: str
    score: float  # the agent's score under the strategy, for the audit trail
    how: How
    at: float  # when the engine decided (a timer's own due time when a timer caused it)


@dataclass(frozen=True, slots=True)
class Revoke:
    """An offer or claim was taken back from the agent; the task waits again unless withdrawn."""

    task_id: str
    agent_id: str
    reason: RevokeReason
    at: float


@dataclass(frozen=True, slots=True)
class AgentPaused:
    """The engine set the agent not ready (RONA)."""

    agent_id: str
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class CapacityFreed:
    """After-work time ended; the agent's capacity for the task is free again."""

    agent_id: str
    task_id: str
    at: float


Action = Offer | Revoke | AgentPaused | CapacityFreed


class RoutingError(ValueError):
    """A request the engine refuses (unknown task or agent, wrong state, not the agent's task)."""
