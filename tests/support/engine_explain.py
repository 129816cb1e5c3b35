"""Why a task is where it is in an engine: its tier, who may take it, and why each other agent may not.

Tests read the engine's state through it; the product explains from Redis (domain/routing/explain_snapshot.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from workrouter.domain.routing.actions import RoutingError
from workrouter.domain.routing.agents import AgentState, load_text, rank
from workrouter.domain.routing.buckets import Waiting
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import Presence, QueuePolicy, Tier, channel_free


@dataclass(frozen=True, slots=True)
class AgentVerdict:
    """One agent's standing for the task."""

    agent_id: str
    eligible: bool  # in the current tier and free to take it now
    reason: str  # why not, or the strategy key when eligible


@dataclass(frozen=True, slots=True)
class Explanation:
    """A waiting task's routing state, answered for `GET /v1/tasks/{id}/explain`."""

    task_id: str
    state: str
    queue: str
    strategy: str
    tier: int
    tier_min_level: int | None
    waited_seconds: float
    next_tier_in_seconds: float | None
    priority_now: float
    agent_id: str | None
    agents: list[AgentVerdict] = field(default_factory=list)


def explain(engine: Engine, task_id: str, now: float) -> Explanation:
    """Explain one task; costs one look at each agent of its queue (and its preferred agents)."""
    engine.advance(now)
    task = engine.tasks.get(task_id)
    if task is None:
        raise RoutingError(f"the router holds no task {task_id!r} (never queued, finished, or withdrawn)")
    policy = engine.queues[task.queue]
    tier = policy.tiers[task.tier] if task.tier >= 0 else None
    start = task.enqueued_at + (policy.preferred_seconds if task.preferred else 0.0)
    next_in: float | None = None
    if task.state == "waiting":
        if task.tier == -1:
            next_in = start - now
        elif task.tier + 1 < len(policy.tiers):
            next_in = start + policy.tiers[task.tier + 1].after_seconds - now
    names = {a.agent_id for a in engine.agents.values() if task.queue in a.profile.queues} | set(task.preferred)
    verdicts = [_verdict(engine.agents.get(name), name, task, policy, now) for name in sorted(names)]
    verdicts.sort(key=lambda v: (not v.eligible, v.agent_id))
    return Explanation(
        task_id=task.task_id,
        state=task.state,
        queue=task.queue,
        strategy=policy.strategy.value,
        tier=task.tier,
        tier_min_level=tier.min_level if tier else None,
        waited_seconds=now - task.enqueued_at,
        next_tier_in_seconds=next_in,
        priority_now=task.score(now / 3600.0, engine.policy.urgency_per_hour),
        agent_id=task.agent_id,
        agents=verdicts,
    )


def _verdict(agent: AgentState | None, agent_id: str, task: Waiting, policy: QueuePolicy, now: float) -> AgentVerdict:
    if agent is None:
        return AgentVerdict(agent_id, False, "unknown agent (named as preferred but not configured)")
    if task.tier == -1:
        if agent_id not in task.preferred:
            return AgentVerdict(agent_id, False, "only the task's preferred agents are tried for now")
        tier = Tier(0)
    else:
        if task.queue not in agent.profile.queues:
            return AgentVerdict(agent_id, False, f"not a member of queue {task.queue}")
        tier = policy.tiers[task.tier]
    missing = _skill_gap(agent, task, tier)
    if missing:
        return AgentVerdict(agent_id, False, missing)
    if agent.presence is not Presence.READY:
        why = f"not ready ({agent.reason})" if agent.reason else agent.presence.value
        return AgentVerdict(agent_id, False, why)
    if not channel_free(agent.profile, agent.load, task.channel):
        return AgentVerdict(agent_id, False, f"no free capacity on {task.channel} ({load_text(agent)})")
    key = rank(agent, policy, task, now)
    return AgentVerdict(agent_id, True, f"eligible; {policy.strategy.value} key {key[0]:g}, idle since {key[1]:g}")


def _skill_gap(agent: AgentState, task: Waiting, tier: Tier) -> str:
    for skill, level in task.needs:
        need = max(level, tier.min_level)
        have = agent.profile.skills.get(skill)
        if have is None:
            return f"lacks skill {skill}"
        if have < need:
            return f"{skill} level {have} < {need} needed in tier {task.tier}"
    return ""
