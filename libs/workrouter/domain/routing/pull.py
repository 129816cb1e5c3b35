"""What a supervisor does to a task in the engine: force-assign it to an agent, park it in an agent's personal
workbin, or take it back from the agent holding it (pure).

Claims and get-next are made by the api in Redis (services/api/workbins.py) and adopted by the router
(adopt.py); tests/support/engine_pull.py plays them on the engine alone for the tests."""

from __future__ import annotations

from workrouter.domain.routing.actions import Action, Revoke, RoutingError
from workrouter.domain.routing.agents import AgentState, load_text
from workrouter.domain.routing.buckets import Waiting
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import Presence, channel_free

HELD = ("offered", "claimed", "assigned")


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


def take_back(engine: Engine, task_id: str, now: float) -> list[Action]:
    """A supervisor takes a task from the agent holding it (offered, claimed or assigned): back to its place in
    the queue, wait clock untouched, and routed again; the agent, freed, is offered its next task."""
    actions = engine.advance(now)
    task, agent = _held(engine, task_id)
    actions += _unhold(engine, task, agent, now)
    actions += engine._route_task(task, now)
    return actions + engine._route_agent(agent, now)


def reassign(engine: Engine, task_id: str, agent_id: str, now: float) -> list[Action]:
    """A supervisor gives a task another agent holds to `agent_id` (force-assigned, tiers and skills bypassed,
    capacity never): taken from its holder, then given; the holder, freed, is offered its next task after."""
    actions = engine.advance(now)
    task, holder = _held(engine, task_id)
    target = engine._agent(agent_id)
    if target is holder:
        raise RoutingError(f"agent {agent_id} holds task {task_id} already")
    _need_free(target, task, ready=False)
    actions += _unhold(engine, task, holder, now)
    actions.append(engine._offer(task, target, now, 0.0, "force"))
    return actions + engine._route_agent(holder, now)


def hand_to(engine: Engine, task_id: str, agent_id: str, now: float) -> list[Action]:
    """The agent holding a task gives it to a named colleague: taken from the holder and parked in the
    colleague's personal workbin (claimed when they are ready and have room); the holder is offered its next."""
    actions = engine.advance(now)
    task, holder = _held(engine, task_id)
    if engine._agent(agent_id) is holder:
        raise RoutingError(f"agent {agent_id} holds task {task_id} already")
    actions += _unhold(engine, task, holder, now)
    actions += park(engine, task_id, agent_id, now)
    return actions + engine._route_agent(holder, now)


def _held(engine: Engine, task_id: str) -> tuple[Waiting, AgentState]:
    task = _task(engine, task_id)
    if task.state not in HELD or task.agent_id is None:
        raise RoutingError(f"task {task_id} is {task.state}; only a task an agent holds can be taken back")
    return task, engine._agent(task.agent_id)


def _unhold(engine: Engine, task: Waiting, agent: AgentState, now: float) -> list[Action]:
    """Free the agent's capacity and file the task again (its offer or claim timer goes with its stamp)."""
    engine._free(agent, task.channel, task.task_id)
    engine._file(task, now)
    return [Revoke(task.task_id, agent.agent_id, "taken_back", now)]


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
