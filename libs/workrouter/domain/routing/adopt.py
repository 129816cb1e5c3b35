"""Taking over work the engine did not decide itself: a failover rebuild, a claim the api made (pure).

Redis is the authority on who holds a task (the Lua reservations); the engine follows it. When a new
router owner rebuilds a domain, or an api claim wins a race against an offer, the engine is told who
holds the task and how, and fixes its books: the task leaves the waiting buckets, the holder's load
counts it, and the offer or claim timeout runs from the time the hold began, not from now.
"""

from __future__ import annotations

from workrouter.domain.routing.actions import Action, RoutingError, TaskSpec
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.holds import HeldState
from workrouter.domain.routing.placement import AFTER_WORK, CLAIM_TIMEOUT, OFFER_TIMEOUT


def adopt(engine: Engine, spec: TaskSpec, agent_id: str, state: HeldState, *, since: float, now: float) -> list[Action]:
    """Record that `agent_id` holds the task (offered, claimed or assigned since `since`).

    A waiting task leaves its buckets; one the engine thought another agent held is taken from that
    agent (Redis said otherwise); one the same agent holds just changes state. Returns what the
    timers due by `now` did, and what freeing a wrongly-loaded agent offered it instead.
    """
    actions = engine.advance(now)
    engine._agent(agent_id)  # an unknown agent is refused before anything changes
    task = engine.tasks.get(spec.task_id)
    if task is None:
        task = engine.tasks[spec.task_id] = engine.waiting(spec)
    elif task.state == "waiting":
        engine._unfile(task)
    elif task.state == "parked":
        engine.parked.get(task.agent_id or "", {}).pop(task.task_id, None)
    elif task.agent_id != agent_id and task.agent_id is not None:
        previous = engine.agents[task.agent_id]
        engine._free(previous, task.channel, task.task_id)
        actions += engine._route_agent(previous, now)
    engine.tally.move(task, state)
    task.agent_id, task.assigned_at = agent_id, since
    task.stamp = next(engine._stamps)
    _count(engine, agent_id, task.task_id, task.channel)
    policy = engine.queues[task.queue]
    if state == "offered":
        engine._timer(since + policy.offer_timeout_seconds, OFFER_TIMEOUT, task.task_id, task.stamp)
    elif state == "claimed":
        engine._timer(since + policy.claim_timeout_seconds, CLAIM_TIMEOUT, task.task_id, task.stamp)
    return actions


def start(engine: Engine, task_id: str, agent_id: str, now: float) -> list[Action]:
    """The agent starts a task it claimed with get-next: assigned, the claim timeout no longer applies."""
    task = engine.tasks.get(task_id)
    if task is None or task.agent_id != agent_id or task.state != "claimed":
        state = "unknown" if task is None else f"{task.state} with {task.agent_id}"
        raise RoutingError(f"task {task_id} is {state}, not claimed by {agent_id}")
    return engine.accept(task_id, agent_id, now)


def hold_foreign(engine: Engine, agent_id: str, task_id: str, channel: str) -> None:
    """Count a hold Redis has that the engine cannot place (e.g. a task of a finished run) against the
    agent's capacity, so the engine stops proposing work Redis would refuse."""
    if _count(engine, agent_id, task_id, channel):
        engine.foreign[(agent_id, task_id)] = channel


def drop_foreign(engine: Engine, agent_id: str, held: set[str], now: float) -> list[Action]:
    """Forget the agent's foreign holds that Redis no longer has; returns the offers this makes possible."""
    agent = engine._agent(agent_id)
    gone = [(a, t) for (a, t) in engine.foreign if a == agent_id and t not in held]
    for key in gone:
        engine._free(agent, engine.foreign.pop(key), key[1])
    return engine._route_agent(agent, now) if gone else []


def after_work(engine: Engine, agent_id: str, task_id: str, channel: str, until: float) -> None:
    """Rebuild an after-work hold: the agent's capacity for the finished task is free at `until`."""
    _count(engine, agent_id, task_id, channel)
    engine._after_work[(agent_id, task_id)] = channel
    engine._timer(until, AFTER_WORK, f"{agent_id}\x00{task_id}", 0)


def _count(engine: Engine, agent_id: str, task_id: str, channel: str) -> bool:
    """Count the task against the agent's capacity on the channel, once; True when it was not counted yet."""
    agent = engine._agent(agent_id)
    if task_id in agent.tasks:
        return False
    agent.tasks.add(task_id)
    agent.load[channel] = agent.load.get(channel, 0) + 1
    engine._refresh(agent)
    return True
