"""Pull routes: workbins (a pull queue's tasks an agent may take), claims, personal workbins and "get next".

The api walks the pull indexes the router keeps in Redis next to its queue entries (pull_walk.py: a
few pages and the entries of the best candidates, however many tasks wait) and reserves the agent's
capacity there atomically (the same Lua reservation the router uses), then tells the router with
`TaskClaimed`. Racing claims, offers and get-nexts can therefore never give one task to two agents or
overfill an agent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from workrouter.adapters.redis_agent_records import HoldKind, ReserveResult
from workrouter.contracts.agent_commands import TaskClaimed
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.explain_snapshot import load_text
from workrouter.domain.routing.holds import offer_id
from workrouter.domain.routing.model import Mode, Presence, QueuePolicy, channel_free
from workrouter.domain.routing.pull_parked import ParkedWalk
from workrouter.domain.routing.pull_walk import PullWalk
from workrouter.domain.routing.workbin import next_tier_in, order_key, pull_refusal
from workrouter.services.api.agent_context import AgentApi, AgentCaller, Caller
from workrouter.services.api.agent_views import iso, task_view
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.pull_reads import read_walk
from workrouter.services.api.responses import documented, ok

CLAIM_RESPONSES = documented(401, 403, 404, 409, s200=ok("The task is yours (assigned)."))
MAX_NEXT_ATTEMPTS = 20  # get-next tries this many of the best candidates when others take them first
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many tasks, best first.")]


def workbin_routes(api: AgentApi) -> APIRouter:
    """The pull routes of one app."""
    router = APIRouter(prefix="/v1/agent", tags=["agent"])
    routing = api.routing

    @router.get(
        "/workbins/{queue}",
        responses=documented(401, 403, 404, 409, 422, s200=ok("The tasks you may claim, best first.")),
    )
    async def list_workbin(queue: str, caller: AgentCaller, limit: Limit = 50) -> dict[str, Any]:
        policy = _pull_queue(api, caller, queue)
        now = api.now()
        walk = PullWalk(caller.profile, {queue: policy}, now, limit=limit, priority=api.priority)
        tasks = await read_walk(api.store, policy.domain, walk)
        views = [task_view(e, routing, now, api.priority) for e in tasks]
        return {"queue": queue, "tasks": views, "truncated": walk.truncated}

    @router.get("/workbin", responses=documented(401, 422, s200=ok("Your personal workbin.")))
    async def list_personal(caller: AgentCaller, limit: Limit = 50) -> dict[str, Any]:
        now = api.now()
        tasks: list[QueueEntry] = []
        truncated = False
        for domain in caller.domains:  # a blended agent's parked tasks may be in any of its domains
            walk = ParkedWalk(caller.agent_id, limit=limit)
            tasks += await read_walk(api.store, domain, walk)
            truncated = truncated or walk.truncated
        if len(caller.domains) > 1:  # each domain's oldest first: merged, oldest first
            tasks.sort(key=lambda e: (e.enqueued_at, e.seq, e.task_id))
            truncated = truncated or len(tasks) > limit
        views = [task_view(e, routing, now, api.priority) for e in tasks[:limit]]
        return {"agent_id": caller.agent_id, "tasks": views, "truncated": truncated}

    @router.post("/workbins/{queue}/claim/{task_id}", responses=CLAIM_RESPONSES)
    async def claim_from(queue: str, task_id: str, caller: AgentCaller) -> JSONResponse:
        _pull_queue(api, caller, queue)
        return await _claim(api, caller, task_id, queue)

    @router.post("/claim/{task_id}", responses=CLAIM_RESPONSES)
    async def claim(task_id: str, caller: AgentCaller) -> JSONResponse:
        return await _claim(api, caller, task_id, None)

    @router.post(
        "/next",
        response_model=None,
        responses=documented(
            401, 409, s200=ok("The task claimed for you."), s204={"description": "Nothing for you to take now."}
        ),
    )
    async def get_next(caller: AgentCaller) -> JSONResponse | Response:
        return await _get_next(api, caller)

    return router


async def _get_next(api: AgentApi, caller: Caller) -> JSONResponse | Response:
    """Claim the best task of the agent's pull queues it may take now (204: none)."""
    routing = api.routing
    state = await api.store.get_presence(caller.agent_id)
    if state.presence is not Presence.READY:
        raise _refused(ReserveResult.NOT_READY, caller, "", "")
    profile, now = caller.profile, api.now()
    queues = routing.queues
    candidates: list[QueueEntry] = []
    for domain in caller.domains:  # a blended agent takes the best of all its domains' pull queues
        pull = {
            q: queues[q]
            for q in profile.queues
            if q in queues and queues[q].mode is Mode.PULL and queues[q].domain == domain
        }
        walk = PullWalk(profile, pull, now, limit=MAX_NEXT_ATTEMPTS, priority=api.priority)
        candidates += await read_walk(api.store, domain, walk) if pull else []
    if len(caller.domains) > 1:
        candidates = sorted(candidates, key=lambda e: order_key(e, now, api.priority))[:MAX_NEXT_ATTEMPTS]
    load = await api.store.load(caller.agent_id)
    fitting = [e for e in candidates if channel_free(profile, load, e.channel)]
    if candidates and not fitting:
        raise _refused(ReserveResult.NO_CAPACITY, caller, candidates[0].channel, load_text(profile, load))
    for entry in fitting:
        result = await api.store.reserve(caller.agent_id, entry.task_id, entry.channel, "claim", now)
        if result is ReserveResult.TAKEN:
            continue
        if not result.ok:
            raise _refused(result, caller, entry.channel, load_text(profile, await api.store.load(caller.agent_id)))
        claim_timeout = routing.queues[entry.queue].claim_timeout_seconds
        extra = {"offer_id": offer_id(entry.task_id, caller.agent_id, now), "expires_at": iso(now + claim_timeout)}
        return await _claimed(api, caller, entry, "get_next", kind="claim", now=now, extra=extra)
    if fitting:
        msg = f"the {len(fitting)} best tasks for you were all taken by others meanwhile; ask again"
        raise HttpError(problem(409, msg))
    return Response(status_code=204)


def _pull_queue(api: AgentApi, caller: Caller, queue: str) -> QueuePolicy:
    policy = api.routing.queues.get(queue)
    if policy is None or policy.domain not in caller.domains:
        raise HttpError(problem(404, f"unknown queue {queue!r} in domain {', '.join(caller.domains)}"))
    if queue not in caller.profile.queues:
        raise HttpError(problem(403, f"{caller.agent_id} is not a member of queue {queue}"))
    if policy.mode is not Mode.PULL:
        raise HttpError(problem(409, f"queue {queue} is a push queue: its tasks are offered, not listed or claimed"))
    return policy


async def _claim(api: AgentApi, caller: Caller, task_id: str, queue: str | None) -> JSONResponse:
    _, entry, _ = await api.find(caller, task_id)
    if entry is None or (queue is not None and entry.queue != queue):
        where = f"workbin {queue}" if queue else f"domain {', '.join(caller.domains)}"
        raise HttpError(problem(404, f"unknown task {task_id!r} in {where}"))
    if entry.after_work_until is not None:  # its hold was just released; the router drops the entry next
        raise HttpError(problem(409, f"task {task_id} is completed already; it cannot be claimed", state="after_work"))
    if (holder := await api.store.holder(task_id)) is not None:  # the reserve checks again, atomically
        raise _refused(ReserveResult.TAKEN, caller, "", "", task_id=task_id, mine=holder.agent_id == caller.agent_id)
    now = api.now()
    how: Literal["pull", "personal"] = "pull"
    if entry.parked_for is not None:
        if entry.parked_for != caller.agent_id:
            msg = f"task {task_id} is parked in {entry.parked_for}'s personal workbin; only they may claim it"
            raise HttpError(problem(403, msg))
        how = "personal"
    else:
        policy = api.routing.queues[entry.queue]
        if entry.queue not in caller.profile.queues:
            raise HttpError(problem(403, f"{caller.agent_id} is not a member of queue {entry.queue}"))
        refusal = pull_refusal(caller.profile, entry, policy, now)
        if refusal:
            widens = next_tier_in(entry, policy, now)
            later = f"; its target widens in {widens:.0f} s" if widens is not None else ""
            raise HttpError(problem(409, f"you may not claim task {task_id} now: {refusal}{later}"))
    result = await api.store.reserve(caller.agent_id, task_id, entry.channel, "assign", now)
    if not result.ok:
        holder = await api.store.holder(task_id) if result is ReserveResult.TAKEN else None
        mine = holder is not None and holder.agent_id == caller.agent_id
        load = load_text(caller.profile, await api.store.load(caller.agent_id))
        raise _refused(result, caller, entry.channel, load, task_id=task_id, mine=mine)
    return await _claimed(api, caller, entry, how, kind="assign", now=now, extra={})


async def _claimed(
    api: AgentApi,
    caller: Caller,
    entry: QueueEntry,
    how: Literal["pull", "get_next", "personal"],
    *,
    kind: HoldKind,
    now: float,
    extra: dict[str, Any],
) -> JSONResponse:
    command = TaskClaimed(agent_id=caller.agent_id, domain=entry.domain, task_id=entry.task_id, how=how)
    await api.publish(command, entry.task_id)
    state = "claimed" if kind == "claim" else "assigned"
    task = task_view(entry, api.routing, now, api.priority)
    return JSONResponse(status_code=200, content={"task": task, "how": how, "state": state, **extra})


def _refused(
    result: ReserveResult, caller: Caller, channel: str, load: str, *, task_id: str = "", mine: bool = False
) -> HttpError:
    match result:
        case ReserveResult.TAKEN if mine:
            msg = f"you hold task {task_id} already"
        case ReserveResult.TAKEN:
            msg = f"task {task_id} was just taken by another agent; list the workbin again and pick another"
        case ReserveResult.NOT_READY:
            msg = f"{caller.agent_id} is not ready: set presence ready (POST /v1/agent/presence) to take work"
        case ReserveResult.NO_CAPACITY:
            msg = f"no free capacity on {channel} ({load}); complete a task first"
        case _:
            msg = "the live store has no profile for you yet: log in with POST /v1/agent/presence"
    return HttpError(problem(409, msg))
