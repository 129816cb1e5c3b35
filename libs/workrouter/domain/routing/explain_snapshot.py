"""Why a task is where it is, from what Redis shows: its entry, its holder and the agents (pure).

The engine's explain.py answers from the router's memory; this answers from the live store, so the
api can explain a task without asking the router. Verdicts use explain.py's wording. What Redis does
not keep (the strategies' idle clocks and effort sums) is left out: an eligible agent is "eligible",
and the queue's strategy picks among the eligible ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry, tier_at
from workrouter.domain.routing.holds import HELD_STATE
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, channel_free
from workrouter.domain.routing.workbin import (
    DEFAULT_PRIORITY,
    PREFERRED_PHASE,
    next_tier_in,
    priority_now,
    tier_refusal,
)


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent as the live store shows it."""

    profile: AgentProfile
    presence: Presence = Presence.OFFLINE
    reason: str | None = None
    load: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HoldView:
    """Who holds a task, how (offer, claim or assign), on which channel, since when (epoch seconds)."""

    agent_id: str
    kind: str
    channel: str
    since: float


@dataclass(frozen=True, slots=True)
class AgentVerdict:
    """One agent's standing for the task."""

    agent_id: str
    eligible: bool  # in the current target and free to take it now
    reason: str  # why not, or "eligible"


@dataclass(frozen=True, slots=True)
class TaskExplanation:
    """A task's routing state, answered for `GET /v1/tasks/{id}/explain`."""

    task_id: str
    state: str  # waiting | offered | claimed | assigned | parked | wrap_up
    queue: str | None
    strategy: str | None
    tier: int | None  # -1: preferred agents only
    tier_min_level: int | None
    waited_seconds: float | None
    next_tier_in_seconds: float | None
    priority_now: float | None
    agent_id: str | None = None  # the holder, or the agent whose personal workbin holds it
    how: str | None = None  # the hold's kind: offer, claim or assign
    since: float | None = None
    held_seconds: float | None = None
    agents: list[AgentVerdict] = field(default_factory=list)


def load_text(profile: AgentProfile, load: Mapping[str, int]) -> str:
    """The agent's load against capacity, e.g. `workitem 2/3, voice 0/1`."""
    held = ", ".join(f"{ch} {n}/{profile.capacity.get(ch, 0)}" for ch, n in sorted(load.items()))
    return held or "nothing held"


def verdict(agent: AgentView | None, agent_id: str, entry: QueueEntry, policy: QueuePolicy, now: float) -> AgentVerdict:
    """Whether this agent may take the waiting task now, or why not."""
    if agent is None:
        return AgentVerdict(agent_id, False, "unknown agent (named as preferred but not configured)")
    refusal = tier_refusal(agent.profile, entry, policy, now)
    if refusal:
        return AgentVerdict(agent_id, False, refusal)
    if agent.presence is not Presence.READY:
        why = f"not ready ({agent.reason})" if agent.reason else agent.presence.value
        return AgentVerdict(agent_id, False, why)
    if not channel_free(agent.profile, agent.load, entry.channel):
        held = load_text(agent.profile, agent.load)
        return AgentVerdict(agent_id, False, f"no free capacity on {entry.channel} ({held})")
    return AgentVerdict(agent_id, True, "eligible")


def explain_waiting(
    entry: QueueEntry,
    policy: QueuePolicy,
    agents: Mapping[str, AgentView],
    now: float,
    priority: PriorityPolicy = DEFAULT_PRIORITY,
) -> TaskExplanation:
    """A waiting task: its tier, when it widens, its priority, and every member or preferred agent's verdict."""
    tier = tier_at(entry, policy, now)
    names = {a for a, view in agents.items() if entry.queue in view.profile.queues} | set(entry.preferred)
    verdicts = [verdict(agents.get(name), name, entry, policy, now) for name in sorted(names)]
    verdicts.sort(key=lambda v: (not v.eligible, v.agent_id))
    return TaskExplanation(
        task_id=entry.task_id,
        state="waiting",
        queue=entry.queue,
        strategy=policy.strategy.value,
        tier=tier,
        tier_min_level=None if tier == PREFERRED_PHASE else policy.tiers[tier].min_level,
        waited_seconds=now - entry.enqueued_at,
        next_tier_in_seconds=next_tier_in(entry, policy, now),
        priority_now=priority_now(entry, now, priority),
        agents=verdicts,
    )


def explain_held(
    task_id: str,
    entry: QueueEntry | None,
    holder: HoldView | None,
    now: float,
    *,
    in_after_work: bool = False,
    priority: PriorityPolicy = DEFAULT_PRIORITY,
) -> TaskExplanation:
    """A task that is not waiting: who holds it, how and since when (or whose personal workbin has it)."""
    if holder is not None:
        state = "wrap_up" if in_after_work else HELD_STATE.get(holder.kind, holder.kind)
        agent_id: str | None = holder.agent_id
        how: str | None = holder.kind
        since: float | None = holder.since
    else:
        state, agent_id, how, since = "parked", entry.parked_for if entry else None, None, None
    return TaskExplanation(
        task_id=task_id,
        state=state,
        queue=entry.queue if entry else None,
        strategy=None,
        tier=None,
        tier_min_level=None,
        waited_seconds=None if entry is None else now - entry.enqueued_at,
        next_tier_in_seconds=None,
        priority_now=None if entry is None else priority_now(entry, now, priority),
        agent_id=agent_id,
        how=how,
        since=since,
        held_seconds=None if since is None else now - since,
    )
