"""Supervisor routes (force-assign or reassign, park, take back) and the explanation of a task, answered from
Redis alone."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from workrouter.adapters.redis_agent_records import Holder
from workrouter.contracts.agent_commands import SupervisorAssign
from workrouter.domain.routing.explain_snapshot import AgentView, HoldView, explain_held, explain_waiting, load_text
from workrouter.domain.routing.holds import HELD_STATE
from workrouter.domain.routing.model import Presence, channel_free
from workrouter.domain.routing.workbin import is_waiting
from workrouter.services.api.agent_bodies import AgentRefBody
from workrouter.services.api.agent_context import AgentApi, AgentCaller, Caller, SupervisorCaller
from workrouter.services.api.agent_views import explanation_view
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.responses import accepted, documented, ok
from workrouter.services.openapi import ref, request_body

Action = Annotated[
    str, Path(description="assign or park (404 otherwise).", json_schema_extra={"enum": ["assign", "park"]})
]
ACTIONS: dict[str, Literal["force_assign", "park"]] = {"assign": "force_assign", "park": "park"}


def supervisor_routes(api: AgentApi) -> APIRouter:
    """The supervisor routes and `GET /v1/tasks/{id}/explain` of one app."""
    router = APIRouter(tags=["supervisor"])

    @router.post(
        "/v1/supervisor/tasks/{task_id}/take-back",
        status_code=202,
        responses=documented(401, 403, 404, 409, s202=accepted()),
    )
    async def take_back(task_id: str, caller: SupervisorCaller) -> JSONResponse:
        """Take a task from the agent holding it (offered, claimed or assigned): back to its place in its
        queue, wait clock untouched, and routed again. To give it to a named agent, assign it instead."""
        return await _take_back(api, task_id, caller)

    @router.post(
        "/v1/supervisor/tasks/{task_id}/{action}",
        status_code=202,
        responses=documented(400, 401, 403, 404, 409, 413, 422, s202=accepted()),
        openapi_extra=request_body(ref(AgentRefBody)),
    )
    async def assign(task_id: str, action: Action, request: Request, caller: SupervisorCaller) -> JSONResponse:
        return await _supervise(api, task_id, action, request, caller)

    @router.get(
        "/v1/tasks/{task_id}/explain",
        responses=documented(401, 403, 404, 409, s200=ok("Why the task waits, or who holds it.")),
    )
    async def explain(task_id: str, caller: AgentCaller) -> dict[str, Any]:
        return await _explain(api, task_id, caller)

    return router


async def _supervise(api: AgentApi, task_id: str, action: str, request: Request, caller: Caller) -> JSONResponse:
    """Assign (force) or park a waiting task for an agent of the supervisor's domain."""
    store, routing = api.store, api.routing
    if action not in ACTIONS:
        return problem(404, f"unknown action {action!r}; one of: {', '.join(ACTIONS)}")
    body = await api.body(request, AgentRefBody)
    target = body.agent_id
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
        agent_id=target,
        domain=domain,
        task_id=task_id,
        action=ACTIONS[action],
        supervisor=caller.agent_id,
    )
    await api.publish(command, task_id)
    content = {"task_id": task_id, "agent_id": target, "action": ACTIONS[action], "status": "accepted"}
    if holder is not None:
        content["reassigned_from"] = holder.agent_id
    return JSONResponse(status_code=202, content=content)


async def _take_back(api: AgentApi, task_id: str, caller: Caller) -> JSONResponse:
    """Take a held task back to its queue: 404 unknown here, 409 when nobody holds it or it is completed."""
    domain, _, raw = await api.find(caller, task_id)
    holder = await api.store.holder(task_id)
    if raw is None:
        msg = f"unknown task {task_id!r}: not queued in {', '.join(caller.domains)} (completed, cancelled or moved)"
        raise HttpError(problem(404, msg, state="unknown"))
    if raw.get("after_work_until") is not None:
        msg = f"task {task_id} is completed already (in after-work); there is nothing to take back"
        raise HttpError(problem(409, msg, state="after_work"))
    if holder is None:
        state = "parked" if raw.get("parked_for") else "waiting"
        msg = f"task {task_id} is {state}, held by nobody; there is nothing to take back (assign it to give it)"
        raise HttpError(problem(409, msg, state=state))
    command = SupervisorAssign(
        agent_id=holder.agent_id, domain=domain, task_id=task_id, action="take_back", supervisor=caller.agent_id
    )
    await api.publish(command, task_id)
    content = {"task_id": task_id, "agent_id": holder.agent_id, "action": "take_back", "status": "accepted"}
    return JSONResponse(status_code=202, content=content)


async def _explain(api: AgentApi, task_id: str, caller: Caller) -> dict[str, Any]:
    """Why the task waits (its tier, who may take it), or who holds it."""
    store, routing = api.store, api.routing
    holder = await store.holder(task_id)
    if not caller.supervisor and (holder is None or holder.agent_id != caller.agent_id):
        raise HttpError(problem(403, "only a supervisor, or the agent holding the task, may explain it"))
    domain, entry, raw = await api.find(caller, task_id)
    if raw is None and holder is None:
        where = ", ".join(caller.domains)
        raise HttpError(problem(404, f"unknown task {task_id!r}: not queued in {where} and not held"))
    now = api.now()
    if raw is None or entry is None or not is_waiting(raw, held=holder is not None):
        hold = None if holder is None else HoldView(holder.agent_id, holder.kind, holder.channel, holder.since)
        after_work = raw is not None and raw.get("after_work_until") is not None
        done = explain_held(task_id, entry, hold, now, in_after_work=after_work, priority=api.priority)
        return explanation_view(done)
    policy = routing.queues.get(entry.queue)
    if policy is None:
        raise HttpError(problem(409, f"task {task_id} is in queue {entry.queue!r}, unknown to this api's config"))
    agents = await _domain_agents(api, domain)
    return explanation_view(explain_waiting(entry, policy, agents, now, api.priority))


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


async def _domain_agents(api: AgentApi, domain: str) -> dict[str, AgentView]:
    """The live view of every agent of the domain (profiles as the router stored them)."""
    queues = api.routing.queues
    views: dict[str, AgentView] = {}
    for profile, state, load, _ in await api.store.load_agents():
        if any(q in queues and queues[q].domain == domain for q in profile.queues):
            views[profile.agent_id] = AgentView(profile, state.presence, state.reason, load)
    return views
