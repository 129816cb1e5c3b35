"""What a supervisor does to tasks: give one to an agent (assign, or reassign a held one), park one, take a
held one back, move one to another queue; one by one or in bulk. Each action checks what it can in Redis and
publishes one command (the router or the prioritiser carries it out); a refusal is an HttpError naming why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from workrouter.adapters.redis_agent_records import Holder
from workrouter.contracts.agent_commands import SupervisorAssign
from workrouter.contracts.commands import OVERRIDABLE, OverrideTask, ReclassifyTask
from workrouter.contracts.envelope import make_event
from workrouter.domain.routing.explain_snapshot import load_text
from workrouter.domain.routing.holds import HELD_STATE
from workrouter.domain.routing.model import Presence, channel_free
from workrouter.services.api.agent_bodies import OverrideBody
from workrouter.services.api.agent_context import SOURCE, AgentApi, Caller
from workrouter.services.api.errors import HttpError, problem

ACTIONS: dict[str, Literal["force_assign", "park"]] = {"assign": "force_assign", "park": "park"}


async def give(api: AgentApi, caller: Caller, task_id: str, action: str, target: str) -> dict[str, Any]:
    """Assign (force; a held task is reassigned) or park a task for an agent of the supervisor's domains."""
    store, routing = api.store, api.routing
    if target not in routing.agents:
        raise api.invalid("body.agent_id", f"unknown agent {target!r}")
    theirs = routing.domains_of(target)
    if not set(theirs) & set(caller.domains):
        msg = f"agent {target} works in domain {', '.join(theirs)}; you supervise {', '.join(caller.domains)}"
        raise HttpError(problem(403, msg))
    domain, entry, raw = await api.find(caller, task_id)
    holder = await store.holder(task_id)
    _check_waiting(task_id, ", ".join(caller.domains), action, raw, holder, target=target)
    if domain not in theirs:
        msg = f"task {task_id} is queued in domain {domain}; agent {target} works in {', '.join(theirs)}"
        raise HttpError(problem(403, msg))
    if action == "park" and entry is not None and entry.parked_for is not None:
        msg = f"task {task_id} is parked in {entry.parked_for}'s personal workbin already"
        raise HttpError(problem(409, msg, state="parked"))
    if action == "assign" and entry is not None:
        await _check_can_take(api, target, entry.channel)
    command = SupervisorAssign(
        agent_id=target, domain=domain, task_id=task_id, action=ACTIONS[action], supervisor=caller.agent_id
    )
    await api.publish(command, task_id)
    content: dict[str, Any] = {"task_id": task_id, "agent_id": target, "action": ACTIONS[action], "status": "accepted"}
    if holder is not None:
        content["reassigned_from"] = holder.agent_id
    return content


async def take_back(api: AgentApi, caller: Caller, task_id: str) -> dict[str, Any]:
    """Take a held task back to its queue: 404 unknown here, 409 when nobody holds it or it is completed."""
    domain, raw, holder = await _known(api, caller, task_id, "there is nothing to take back")
    if holder is None:
        state = "parked" if raw.get("parked_for") else "waiting"
        msg = f"task {task_id} is {state}, held by nobody; there is nothing to take back (assign it to give it)"
        raise HttpError(problem(409, msg, state=state))
    command = SupervisorAssign(
        agent_id=holder.agent_id, domain=domain, task_id=task_id, action="take_back", supervisor=caller.agent_id
    )
    await api.publish(command, task_id)
    return {"task_id": task_id, "agent_id": holder.agent_id, "action": "take_back", "status": "accepted"}


async def move(api: AgentApi, caller: Caller, task_id: str, queue: str, reason: str) -> dict[str, Any]:
    """Move a waiting or parked task to another queue of the supervisor's domains, through the prioritiser
    (ReclassifyTask with the queue forced: the rules' other outcomes, skills and priority, still apply)."""
    policy = api.routing.queues.get(queue)
    if policy is None:
        raise api.invalid("body.queue", f"unknown queue {queue!r}; one of: {', '.join(sorted(api.routing.queues))}")
    if policy.domain not in caller.domains:
        msg = f"queue {queue} is in domain {policy.domain}; you supervise {', '.join(caller.domains)}"
        raise HttpError(problem(403, msg))
    _, raw, holder = await _known(api, caller, task_id, "it cannot be moved")
    if holder is not None:
        state = HELD_STATE[holder.kind]
        msg = f"task {task_id} is {state} to {holder.agent_id}; take it back first (or reassign it)"
        raise HttpError(problem(409, msg, state=state))
    if raw.get("queue") == queue:
        raise HttpError(problem(409, f"task {task_id} is in queue {queue} already", state="waiting"))
    why = reason or f"moved to {queue} by supervisor {caller.agent_id}"
    command = ReclassifyTask(task_id=task_id, reason=why, queue=queue, by=caller.agent_id)
    await _to_prioritiser(api, command, task_id)
    return {"task_id": task_id, "queue": queue, "action": "move", "status": "accepted"}


async def override(api: AgentApi, caller: Caller, task_id: str, body: OverrideBody) -> dict[str, Any]:
    """Set a queued or held task's base priority, SLA or due time (OverrideTask to the prioritiser, which
    classifies it again: a waiting task is re-filed in its place, a held one keeps its agent)."""
    await _known(api, caller, task_id, "it cannot be changed")
    given = body.model_fields_set & set(OVERRIDABLE)
    values = body.model_dump(mode="json", include=given)
    why = body.reason or f"changed by supervisor {caller.agent_id}: {', '.join(sorted(given))}"
    command = OverrideTask.model_validate(
        {
            "task_id": task_id,
            "reason": why,
            "by": caller.agent_id,
            **{k: v for k, v in values.items() if v is not None},
            "cleared": sorted(k for k, v in values.items() if v is None),
        }
    )
    await _to_prioritiser(api, command, task_id)
    return {"task_id": task_id, "action": "override", "status": "accepted", **values}


async def _to_prioritiser(api: AgentApi, command: OverrideTask | ReclassifyTask, task_id: str) -> None:
    """A command for the prioritiser on `wr.tasks`, keyed by the task."""
    when = datetime.fromtimestamp(api.now(), UTC)
    await api.bus.publish(api.topics.tasks, make_event(command, source=SOURCE, key=task_id, subject=task_id, time=when))


async def _known(
    api: AgentApi, caller: Caller, task_id: str, why_not: str
) -> tuple[str, dict[str, Any], Holder | None]:
    """The task's domain, its entry as stored and its holder: 404 when no domain of the caller queues it,
    409 when it is completed (in after-work)."""
    domain, _, raw = await api.find(caller, task_id)
    if raw is None:
        msg = f"unknown task {task_id!r}: not queued in {', '.join(caller.domains)} (completed, cancelled or moved)"
        raise HttpError(problem(404, msg, state="unknown"))
    if raw.get("after_work_until") is not None:
        msg = f"task {task_id} is completed already (in after-work); {why_not}"
        raise HttpError(problem(409, msg, state="after_work"))
    return domain, raw, await api.store.holder(task_id)


def _check_waiting(
    task_id: str, domain: str, action: str, raw: dict[str, Any] | None, holder: Holder | None, *, target: str
) -> None:
    """404 for a task the domain does not queue; 409 for one finished, for one held when parking, and for one
    the target holds already (a held task is assigned by taking it from its holder: reassigned)."""
    if raw is None:
        msg = f"unknown task {task_id!r}: not queued in {domain} (completed, cancelled or moved, or never existed)"
        raise HttpError(problem(404, msg, state="unknown"))
    done = "assigned" if action == "assign" else "parked"
    if raw.get("after_work_until") is not None:
        msg = f"task {task_id} is completed already (in after-work); only a waiting task can be {done}"
        raise HttpError(problem(409, msg, state="after_work"))
    if holder is not None and (action == "park" or holder.agent_id == target):
        state = HELD_STATE[holder.kind]
        if holder.agent_id == target:
            msg = f"task {task_id} is {state} to {target} already"
        else:
            msg = f"task {task_id} is {state} to {holder.agent_id}; take it back first, or assign it to {target}"
        raise HttpError(problem(409, msg, state=state))


async def _check_can_take(api: AgentApi, agent_id: str, channel: str) -> None:
    """409 when the agent is offline or has no room on the channel: the router would refuse the force-assign."""
    state = await api.store.get_presence(agent_id)
    if state.presence is Presence.OFFLINE:
        msg = f"agent {agent_id} is offline; a task can be forced only on a logged-in agent (or park it for them)"
        raise HttpError(problem(409, msg, state="waiting"))
    profile = await api.store.get_profile(agent_id) or api.routing.agents[agent_id]
    load = await api.store.load(agent_id)
    if not channel_free(profile, load, channel):
        msg = f"agent {agent_id} has no free capacity on {channel} ({load_text(profile, load)})"
        raise HttpError(problem(409, msg, state="waiting"))
