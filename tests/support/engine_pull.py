"""Pull work on the engine alone, for tests: workbins, claims, get-next and personal workbins as the engine
would rank them. The product lists and claims in Redis (services/api/workbins.py) and the router adopts the
claims (domain/routing/adopt.py); these play the same rules directly on an Engine, to check them."""

from __future__ import annotations

from workrouter.domain.routing.actions import Action, RoutingError
from workrouter.domain.routing.agents import AgentState, rank, score_of
from workrouter.domain.routing.buckets import Bucket, Waiting
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import Mode, Presence, can_serve
from workrouter.domain.routing.pull import _need_free, _task, force_assign, park

__all__ = ["claim", "force_assign", "get_next", "park", "personal_workbin", "pull_buckets", "workbin"]


def pull_buckets(engine: Engine, agent: AgentState, queue: str | None = None) -> list[Bucket]:
    """The buckets of the agent's pull queues (or one of them) whose tasks it may take now."""
    profile = agent.profile
    return [
        bucket
        for name in sorted(profile.queues)
        if (queue is None or name == queue) and name in engine.queues and engine.queues[name].mode is Mode.PULL
        for bucket in engine.queue_buckets[name]
        if bucket.size > 0 and can_serve(profile, bucket.needs, engine.queues[name].tiers[bucket.tier])
    ]


def workbin(engine: Engine, queue: str, agent_id: str, now: float, limit: int = 50) -> list[Waiting]:
    """The waiting tasks of a pull queue this agent may claim, best first."""
    engine.advance(now)
    agent = engine._agent(agent_id)
    if queue not in engine.queues:
        raise RoutingError(f"unknown queue {queue!r}")
    if queue not in agent.profile.queues:
        raise RoutingError(f"agent {agent_id} is not a member of queue {queue!r}")
    hours, rate = now / 3600.0, engine.policy.urgency_per_hour
    rows = [row for bucket in pull_buckets(engine, agent, queue) for row in bucket.ranked(hours, rate, limit)]
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    return [row[3] for row in rows[:limit]]


def claim(engine: Engine, task_id: str, agent_id: str, now: float) -> list[Action]:
    """The agent takes one listed task of a pull queue (or of its personal workbin): assigned at once."""
    actions = engine.advance(now)
    agent = engine._agent(agent_id)
    task = _task(engine, task_id)
    if task.state == "parked":
        if task.agent_id != agent_id:
            raise RoutingError(f"task {task_id} is parked in {task.agent_id}'s personal workbin, not {agent_id}'s")
        _need_free(agent, task, ready=True)
        return [*actions, engine._offer(task, agent, now, 0.0, "personal")]
    if task.state != "waiting":
        raise RoutingError(f"task {task_id} is {task.state}; only a waiting task can be claimed")
    policy = engine.queues[task.queue]
    if policy.mode is not Mode.PULL:
        raise RoutingError(f"queue {task.queue!r} is a push queue; its tasks are offered, not claimed")
    if task.queue not in agent.profile.queues:
        raise RoutingError(f"agent {agent_id} is not a member of queue {task.queue!r}")
    if task.tier < 0 and agent_id not in task.preferred:
        raise RoutingError(f"task {task_id} is reserved for its preferred agents for now")
    if task.tier >= 0 and not can_serve(agent.profile, task.needs, policy.tiers[task.tier]):
        raise RoutingError(f"agent {agent_id} is not in the task's current target tier {task.tier}")
    _need_free(agent, task, ready=True)
    key = rank(agent, policy, task, now)
    return [*actions, engine._offer(task, agent, now, score_of(key, policy.strategy), "pull")]


def get_next(engine: Engine, agent_id: str, now: float) -> list[Action]:
    """Hand the agent the best task of its pull queues it may take (no cherry-picking); the claim
    goes back to the queue if the agent does not start it within the queue's claim timeout."""
    actions = engine.advance(now)
    agent = engine._agent(agent_id)
    if agent.presence is not Presence.READY:
        raise RoutingError(f"agent {agent_id} is {agent.presence.value}; set ready to get work")
    task = engine.best_task_for(agent, now, pull_buckets(engine, agent))
    if task is None:
        return actions
    policy = engine.queues[task.queue]
    key = rank(agent, policy, task, now)
    return [*actions, engine._offer(task, agent, now, score_of(key, policy.strategy), "get_next")]


def personal_workbin(engine: Engine, agent_id: str) -> list[Waiting]:
    """Tasks parked for the agent, oldest first."""
    engine._agent(agent_id)
    return sorted(engine.parked.get(agent_id, {}).values(), key=lambda t: (t.enqueued_at, t.seq))
