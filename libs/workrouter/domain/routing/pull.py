"""What a supervisor does to a waiting task in the engine: force-assign it to an agent, or park it in an agent's
personal workbin (pure).

Claims and get-next are made by the api in Redis (services/api/workbins.py) and adopted by the router
(adopt.py); tests/support/engine_pull.py plays them on the engine alone for the tests."""

from __future__ import annotations

from workrouter.domain.routing.actions import Action, RoutingError
from workrouter.domain.routing.agents import AgentState, load_text
from workrouter.domain.routing.buckets import Waiting
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import Presence, channel_free


def force_assign(engine: Engine, task_id: str, agent_id: str, now: float) -> list[Action]:
    """A supervisor gives a waiting or parked task to a named agent, bypassing tiers and skills.

    Capacity still holds: an agent is never given more than it can carry.
    """
    actions = engine.advance(now)
    agent = engine._agent(agent_id)
    task = _task(engine, task_id)
    if task.state not in ("waiting", "parked"):
        raise RoutingError(f"task {task_id} is {task.state} with {task.agent_id}; withdraw or transfer it first")
    _need_free(agent, task, ready=False)
    offer = engine._offer(task, agent, now, 0.0, "force")
    return [*actions, offer]


def park(engine: Engine, task_id: str, agent_id: str, now: float) -> list[Action]:
    """A supervisor parks a waiting task in an agent's personal workbin: out of routing, claimable by that agent."""
    actions = engine.advance(now)
    engine._agent(agent_id)
    task = _task(engine, task_id)
    if task.state != "waiting":
        raise RoutingError(f"task {task_id} is {task.state}; only a waiting task can be parked")
    engine._unfile(task)
    engine.tally.move(task, "parked")
    task.agent_id = agent_id
    engine.parked.setdefault(agent_id, {})[task_id] = task
    return actions


def _task(engine: Engine, task_id: str) -> Waiting:
    task = engine.tasks.get(task_id)
    if task is None:
        raise RoutingError(f"unknown task {task_id!r}")
    return task


def _need_free(agent: AgentState, task: Waiting, *, ready: bool) -> None:
    if agent.presence is Presence.OFFLINE or (ready and agent.presence is not Presence.READY):
        raise RoutingError(f"agent {agent.agent_id} is {agent.presence.value}")
    if not channel_free(agent.profile, agent.load, task.channel):
        raise RoutingError(f"agent {agent.agent_id} has no free capacity on {task.channel} ({load_text(agent)})")
