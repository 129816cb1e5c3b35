"""Supervisor routes (assign or reassign, park, take back, move; one by one or in bulk) and the explanation of
a task, answered from Redis alone (the actions: supervisor_actions.py)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from workrouter.domain.routing.explain_snapshot import AgentView, HoldView, explain_held, explain_waiting
from workrouter.domain.routing.workbin import is_waiting
from workrouter.services.api import supervisor_actions as act
from workrouter.services.api.agent_bodies import AgentRefBody, BulkBody, MoveBody, OverrideBody
from workrouter.services.api.agent_context import AgentApi, AgentCaller, Caller, SupervisorCaller
from workrouter.services.api.agent_views import explanation_view, iso
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.responses import accepted, documented, ok
from workrouter.services.openapi import ref, request_body

Action = Annotated[
    str, Path(description="assign or park (404 otherwise).", json_schema_extra={"enum": ["assign", "park"]})
]


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
        return JSONResponse(status_code=202, content=await act.take_back(api, caller, task_id))

    @router.post(
        "/v1/supervisor/tasks/{task_id}/move",
        status_code=202,
        responses=documented(400, 401, 403, 404, 409, 413, 422, s202=accepted()),
        openapi_extra=request_body(ref(MoveBody)),
    )
    async def move(task_id: str, request: Request, caller: SupervisorCaller) -> JSONResponse:
        """Move a waiting or parked task to another queue of your domains (through the rules, queue forced)."""
        body = await api.body(request, MoveBody)
        return JSONResponse(status_code=202, content=await act.move(api, caller, task_id, body.queue, body.reason))

    @router.post(
        "/v1/supervisor/tasks/{task_id}/override",
        status_code=202,
        responses=documented(400, 401, 403, 404, 409, 413, 422, s202=accepted()),
        openapi_extra=request_body(ref(OverrideBody)),
    )
    async def override(task_id: str, request: Request, caller: SupervisorCaller) -> JSONResponse:
        """Set a task's base priority, SLA or due time (null: back to the rules); it is classified again."""
        body = await api.body(request, OverrideBody)
        return JSONResponse(status_code=202, content=await act.override(api, caller, task_id, body))

    @router.post(
        "/v1/supervisor/tasks/bulk",
        responses=documented(400, 401, 403, 413, 422, s200=ok("Each task's outcome, in the order given.")),
        openapi_extra=request_body(ref(BulkBody)),
    )
    async def bulk(request: Request, caller: SupervisorCaller) -> dict[str, Any]:
        """One action on up to 100 tasks: each is checked and carried out as the single route would (202), or
        refused with its own status and reason; one refusal does not stop the others."""
        body = await api.body(request, BulkBody)
        results = [await _one(api, caller, body, task_id) for task_id in body.task_ids]
        done = sum(1 for r in results if r["status"] == 202)
        return {"action": body.action, "accepted": done, "refused": len(results) - done, "results": results}

    @router.post(
        "/v1/supervisor/tasks/{task_id}/{action}",
        status_code=202,
        responses=documented(400, 401, 403, 404, 409, 413, 422, s202=accepted()),
        openapi_extra=request_body(ref(AgentRefBody)),
    )
    async def assign(task_id: str, action: Action, request: Request, caller: SupervisorCaller) -> JSONResponse:
        if action not in act.ACTIONS:
            return problem(404, f"unknown action {action!r}; one of: {', '.join(act.ACTIONS)}, take-back, move")
        body = await api.body(request, AgentRefBody)
        return JSONResponse(status_code=202, content=await act.give(api, caller, task_id, action, body.agent_id))

    @router.get("/v1/supervisor/queues", responses=documented(401, 403, s200=ok("Your domains' queues, live.")))
    async def queues(caller: SupervisorCaller) -> dict[str, Any]:
        """Each queue of your domains as its router sees it now (written every second): waiting, urgent, the
        oldest wait, held tasks, service level now per threshold, agents busy, ready, not ready and free.
        `live: false` when no router has written its domain's view in the last seconds (none owns it)."""
        return {"queues": await _live_queues(api, caller)}

    @router.get(
        "/v1/tasks/{task_id}/explain",
        responses=documented(401, 403, 404, 409, s200=ok("Why the task waits, or who holds it.")),
    )
    async def explain(task_id: str, caller: AgentCaller) -> dict[str, Any]:
        return await _explain(api, task_id, caller)

    return router


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


async def _domain_agents(api: AgentApi, domain: str) -> dict[str, AgentView]:
    """The live view of every agent of the domain (profiles as the router stored them)."""
    queues = api.routing.queues
    views: dict[str, AgentView] = {}
    for profile, state, load, _ in await api.store.load_agents():
        if any(q in queues and queues[q].domain == domain for q in profile.queues):
            views[profile.agent_id] = AgentView(profile, state.presence, state.reason, load)
    return views


async def _one(api: AgentApi, caller: Caller, body: BulkBody, task_id: str) -> dict[str, Any]:
    """One task of a bulk action: its 202 content, or the refusal's status and detail."""
    try:
        if body.action == "take_back":
            content = await act.take_back(api, caller, task_id)
        elif body.action == "move":
            content = await act.move(api, caller, task_id, body.queue or "", body.reason)
        else:
            content = await act.give(api, caller, task_id, body.action, body.agent_id or "")
    except HttpError as refused:
        doc = refused.response
        return {"task_id": task_id, "status": doc.status_code, **_problem_fields(doc.body)}
    return {**content, "status": 202}


def _problem_fields(body: bytes | memoryview) -> dict[str, Any]:
    """The detail (and state, and field errors) of a problem document."""
    doc = json.loads(bytes(body))
    return {key: doc[key] for key in ("detail", "state", "errors") if key in doc}


async def _live_queues(api: AgentApi, caller: Caller) -> list[dict[str, Any]]:
    views = await api.store.live_views(list(caller.domains))
    rows: list[dict[str, Any]] = []
    for domain in caller.domains:
        raw = views.get(domain)
        view = json.loads(raw) if raw else None
        for name, policy in sorted(api.routing.queues.items()):
            if policy.domain != domain:
                continue
            live = None if view is None else view["queues"].get(name)
            as_of = None if view is None else iso(view["at"])
            rows.append({"queue": name, "domain": domain, "live": live is not None, "as_of": as_of, **(live or {})})
    return rows
