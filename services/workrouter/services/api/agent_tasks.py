"""Agent routes on its own work: answering offers, starting, completing and handing back tasks.

An agent acts only on what it holds: the task's holder record in Redis must name it (403 when it
names another agent, 404 when nobody holds the task and it is not queued, 409 in the wrong state:
waiting, parked, finished, or held another way; an answer naming an offer that is not open). Nothing
is published for a refused command. The router carries the command out and announces the outcome.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from workrouter.contracts.agent_commands import AnswerOffer, FinishTask, HandBackTask, StartTask
from workrouter.domain.routing.holds import offer_id
from workrouter.services.api.agent_bodies import (
    CompleteBody,
    OfferAnswerBody,
    ReclassifyBody,
    RescheduleBody,
    TransferBody,
)
from workrouter.services.api.agent_context import AgentApi, AgentCaller, Caller
from workrouter.services.api.agent_views import iso
from workrouter.services.api.errors import problem
from workrouter.services.api.responses import accepted, documented
from workrouter.services.api.task_holds import offer_refusal
from workrouter.services.openapi import ref, request_body

WITH_BODY = documented(400, 401, 403, 404, 409, 413, 422, s202=accepted())
Answer = Annotated[
    str, Path(description="accept or reject (404 otherwise).", json_schema_extra={"enum": ["accept", "reject"]})
]
HANDED_BACK = ("assign", "claim")  # a task may be handed back once assigned, or while claimed with get-next


def task_routes(api: AgentApi) -> APIRouter:
    """The `/v1/agent/offers` and `/v1/agent/tasks` routes of one app."""
    router = APIRouter(prefix="/v1/agent", tags=["agent"])
    routing = api.routing

    @router.post(
        "/offers/{task_id}/{answer}",
        status_code=202,
        responses=WITH_BODY,
        openapi_extra=request_body(ref(OfferAnswerBody), required=False),
    )
    async def answer_offer(task_id: str, answer: Answer, request: Request, caller: AgentCaller) -> JSONResponse:
        if answer not in ("accept", "reject"):
            return problem(404, f"unknown answer {answer!r}; one of: accept, reject")
        body = await api.body(request, OfferAnswerBody, optional=True)
        holder, domain = await api.own_hold(caller, task_id, ("offer",), answer)
        if (refusal := offer_refusal(task_id, holder, body.offer_id)) is not None:
            raise refusal
        oid = offer_id(task_id, caller.agent_id, holder.since)
        accept = answer == "accept"
        command = AnswerOffer(agent_id=caller.agent_id, domain=domain, task_id=task_id, offer_id=oid, accept=accept)
        await api.publish(command, task_id)
        return _accepted(task_id, offer_id=oid, answer=answer)

    @router.post("/tasks/{task_id}/start", status_code=202, responses=documented(401, 403, 404, 409, s202=accepted()))
    async def start(task_id: str, caller: AgentCaller) -> JSONResponse:
        _, domain = await api.own_hold(caller, task_id, ("claim",), "start")
        await api.publish(StartTask(agent_id=caller.agent_id, domain=domain, task_id=task_id), task_id)
        return _accepted(task_id)

    @router.post(
        "/tasks/{task_id}/complete",
        status_code=202,
        responses=WITH_BODY,
        openapi_extra=request_body(ref(CompleteBody), required=False),
    )
    async def complete(task_id: str, request: Request, caller: AgentCaller) -> JSONResponse:
        body = await api.body(request, CompleteBody, optional=True)
        code = body.wrap_up_code
        if code is not None and code not in routing.wrap_up_codes:
            known = _ids(routing.wrap_up_codes)
            raise api.invalid("body.wrap_up_code", f"unknown wrap-up code {code!r}; one of: {known}")
        _, domain = await api.own_hold(caller, task_id, ("assign",), "complete")  # 409 when completed (after-work)
        command = FinishTask(agent_id=caller.agent_id, domain=domain, task_id=task_id, wrap_up_code=code)
        await api.publish(command, task_id)
        return _accepted(task_id)

    _hand_back_routes(router, api)
    return router


def _hand_back_routes(router: APIRouter, api: AgentApi) -> None:
    """Transfer, reschedule and reclassify: the agent hands its task back to the rules (or to a queue, or a time)."""
    routing = api.routing

    @router.post(
        "/tasks/{task_id}/transfer", status_code=202, responses=WITH_BODY, openapi_extra=request_body(ref(TransferBody))
    )
    async def transfer(task_id: str, request: Request, caller: AgentCaller) -> JSONResponse:
        body = await api.body(request, TransferBody)
        if body.agent_id is not None:
            return await _to_colleague(api, caller, task_id, body.agent_id, body.reason)
        if body.queue not in routing.queues:
            raise api.invalid("body.queue", f"unknown queue {body.queue!r}; one of: {_ids(routing.queues)}")
        _, domain = await api.own_hold(caller, task_id, HANDED_BACK, "transfer")
        await _hand_back(api, caller, domain, task_id, "transfer", queue=body.queue, reason=body.reason)
        return _accepted(task_id, queue=body.queue)

    @router.post(
        "/tasks/{task_id}/reschedule",
        status_code=202,
        responses=WITH_BODY,
        openapi_extra=request_body(ref(RescheduleBody)),
    )
    async def reschedule(task_id: str, request: Request, caller: AgentCaller) -> JSONResponse:
        body = await api.body(request, RescheduleBody)
        if body.wake_at.timestamp() <= api.now():
            raise api.invalid("body.wake_at", f"must be in the future (now is {iso(api.now())})")
        _, domain = await api.own_hold(caller, task_id, HANDED_BACK, "reschedule")
        await _hand_back(api, caller, domain, task_id, "reschedule", wake_at=body.wake_at, reason=body.reason)
        return _accepted(task_id, wake_at=iso(body.wake_at.timestamp()))

    @router.post(
        "/tasks/{task_id}/reclassify",
        status_code=202,
        responses=WITH_BODY,
        openapi_extra=request_body(ref(ReclassifyBody)),
    )
    async def reclassify(task_id: str, request: Request, caller: AgentCaller) -> JSONResponse:
        body = await api.body(request, ReclassifyBody)
        _, domain = await api.own_hold(caller, task_id, HANDED_BACK, "reclassify")
        await _hand_back(api, caller, domain, task_id, "reclassify", reason=body.reason)
        return _accepted(task_id)


async def _to_colleague(api: AgentApi, caller: Caller, task_id: str, colleague: str, reason: str) -> JSONResponse:
    """Transfer the caller's task into a named colleague's personal workbin (422 for an unknown colleague, for
    oneself, or for one who does not work in the task's domain)."""
    if colleague not in api.routing.agents:
        raise api.invalid("body.agent_id", f"unknown agent {colleague!r}")
    if colleague == caller.agent_id:
        raise api.invalid("body.agent_id", "you hold the task already: name a colleague")
    _, domain = await api.own_hold(caller, task_id, HANDED_BACK, "transfer")
    if domain not in api.routing.domains_of(colleague):
        theirs = ", ".join(api.routing.domains_of(colleague))
        raise api.invalid("body.agent_id", f"{colleague} works in domain {theirs}; the task is in {domain}")
    await _hand_back(api, caller, domain, task_id, "transfer", to_agent=colleague, reason=reason)
    return _accepted(task_id, agent_id=colleague)


async def _hand_back(api: AgentApi, caller: Caller, domain: str, task_id: str, action: str, **fields: Any) -> None:
    command = HandBackTask.model_validate(
        {"agent_id": caller.agent_id, "domain": domain, "task_id": task_id, "action": action, **fields}
    )
    await api.publish(command, task_id)


def _accepted(task_id: str, **fields: Any) -> JSONResponse:
    return JSONResponse(status_code=202, content={"task_id": task_id, **fields, "status": "accepted"})


def _ids(codes: dict[str, Any]) -> str:
    return ", ".join(sorted(codes))
