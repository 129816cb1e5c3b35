"""The FastAPI application: task intake and source lifecycle commands over REST, and the agent API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from workrouter.bus.port import Bus
from workrouter.config.catalog import Catalog
from workrouter.config.routing import RoutingConfig
from workrouter.config.sources import SourceSystem
from workrouter.contracts import commands as c
from workrouter.contracts.common import FieldError
from workrouter.contracts.envelope import make_event
from workrouter.contracts.topics import TopicNames, capture_key
from workrouter.domain.capture import task_id_for
from workrouter.services.api.agent_admin import agent_admin_routes
from workrouter.services.api.agent_bodies import AGENT_BODIES
from workrouter.services.api.agent_context import AgentApi, Clock, StreamTimings
from workrouter.services.api.agent_ports import AgentStore, Inbox
from workrouter.services.api.agent_tasks import task_routes
from workrouter.services.api.agents import agent_routes
from workrouter.services.api.auth_routes import TokenBody, auth_routes
from workrouter.services.api.errors import HttpError, field_errors, problem
from workrouter.services.api.json_body import read_json
from workrouter.services.api.rate_limits import RateLimits
from workrouter.services.api.responses import RESPONSE_MODELS, Accepted, BulkResult, documented
from workrouter.services.api.sign_in import SignIn
from workrouter.services.api.source_bodies import LIFECYCLE_BODIES, SOURCE_BODIES, CaptureTaskBody, UpdateTaskBody
from workrouter.services.api.streams import stream_routes
from workrouter.services.api.supervisor import supervisor_routes
from workrouter.services.api.ui.routes import mount_ui
from workrouter.services.api.workbins import workbin_routes
from workrouter.services.openapi import REASONS, add_schemas, json_success, ref, request_body
from workrouter.services.problems import MEDIA_TYPE, Problem, install_http_errors

SOURCE = "/workrouter/api"
MAX_BULK_ITEMS = 1000
COMMAND_RESPONSES = documented(400, 401, 403, 413, 422, s202=json_success("Accepted.", ref(Accepted)))
CAPTURE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMAND_RESPONSES,
    202: json_success("Accepted: one task, or every item of a bulk.", {"anyOf": [ref(Accepted), ref(BulkResult)]}),
    207: json_success("Some items of a bulk accepted, some rejected.", ref(BulkResult)),
    422: {
        "description": REASONS[422] + " For a bulk: no item accepted (a BulkResult, as application/json).",
        "content": {MEDIA_TYPE: {"schema": ref(Problem)}, "application/json": {"schema": ref(BulkResult)}},
    },
}
CAPTURE_BODY = request_body(
    {
        "oneOf": [
            ref(CaptureTaskBody),
            {"type": "array", "items": ref(CaptureTaskBody), "minItems": 1, "maxItems": 1000},
        ]
    },
    description="One work item, or an array of 1 to 1000 (each judged alone).",
)
CommandT = TypeVar("CommandT", c.CaptureTask, c.UpdateTask, c.SourceCommand)
LIFECYCLE: dict[str, type[c.SourceCommand]] = {
    "cancel": c.CancelTask,
    "complete": c.CompleteTask,
    "reschedule": c.RescheduleTask,
    "pause": c.PauseTask,
    "resume": c.ResumeTask,
}


class TaskIntake:
    """Turns authenticated HTTP bodies into validated commands on `wr.capture`."""

    def __init__(self, catalog: Catalog, bus: Bus, topics: TopicNames) -> None:
        self.catalog = catalog
        self.bus = bus
        self.topics = topics

    def authenticate(self, x_api_key: str | None, authorization: str | None) -> SourceSystem:
        """The source owning the API key, or 401."""
        key = x_api_key or (authorization.removeprefix("Bearer ").strip() if authorization else None)
        if not key:
            raise HttpError(problem(401, "missing API key: send it as X-API-Key or Authorization: Bearer <key>"))
        source = self.catalog.source_for_key(key)
        if source is None:
            raise HttpError(problem(401, "unknown API key"))
        return source

    @staticmethod
    async def read_json(request: Request, *, empty: Any = None) -> Any:
        """The parsed body; 413 when too large, 400 when not JSON."""
        return await read_json(request, empty=empty)

    def command(self, model: type[CommandT], doc: Any, source: SourceSystem, prefix: str, **fixed: Any) -> CommandT:
        """Validate `doc` as `model` for `source`: 422 with field paths, 403 for another source's task."""
        if not isinstance(doc, dict):
            raise HttpError(problem(422, "expected a JSON object", [FieldError(loc=prefix, msg="not an object")]))
        if doc.get("source", source.name) != source.name:
            msg = f"this API key belongs to source {source.name!r}; a source acts only on its own tasks"
            raise HttpError(problem(403, msg, [FieldError(loc=f"{prefix}.source", msg=msg)]))
        try:
            cmd = model.model_validate({**doc, **fixed, "source": source.name})
        except ValidationError as exc:
            raise HttpError(problem(422, "invalid request", field_errors(exc, prefix))) from None
        if isinstance(cmd, c.CaptureTask) and (errors := self.catalog.capture_errors(cmd)):
            located = [FieldError(loc=f"{prefix}.{e.loc}", msg=e.msg) for e in errors]
            raise HttpError(problem(422, "invalid task", located))
        return cmd

    async def publish(self, cmd: c.CaptureTask | c.SourceCommand) -> str:
        """Put the command on `wr.capture`; the task id is known at once (it derives from the source's id)."""
        key = capture_key(cmd.source, cmd.external_id)
        await self.bus.publish(self.topics.capture, make_event(cmd, source=SOURCE, key=key, subject=cmd.external_id))
        return task_id_for(cmd.source, cmd.external_id)

    async def accepted(self, cmd: c.CaptureTask | c.SourceCommand) -> JSONResponse:
        """Publish and answer 202 with the task id."""
        return JSONResponse(status_code=202, content={"task_id": await self.publish(cmd), "status": "accepted"})

    async def bulk(self, items: list[Any], source: SourceSystem) -> JSONResponse:
        """Judge each item alone: 202 all accepted, 207 some, 422 none."""
        if not 1 <= len(items) <= MAX_BULK_ITEMS:
            msg = f"a bulk request carries 1 to {MAX_BULK_ITEMS} tasks, got {len(items)}"
            return problem(422, msg, [FieldError(loc="body", msg=msg)])
        results: list[dict[str, Any]] = []
        valid: list[tuple[int, c.CaptureTask]] = []
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            try:
                cmd = self.command(c.CaptureTask, item, source, f"body.{index}")
                if (seen := first.setdefault(cmd.external_id, index)) != index:
                    msg = f"external_id {cmd.external_id!r} is already item {seen} of this bulk; send each item once"
                    raise HttpError(
                        problem(422, "duplicate item", [FieldError(loc=f"body.{index}.external_id", msg=msg)])
                    )
                valid.append((index, cmd))
            except HttpError as exc:
                refused = json.loads(bytes(exc.response.body))  # a problem document: its detail and errors
                verdict = {k: refused[k] for k in ("detail", "errors") if k in refused}
                results.append({"index": index, "status": "rejected", **verdict})
        ids = await asyncio.gather(*(self.publish(cmd) for _, cmd in valid))
        results += [{"index": i, "status": "accepted", "task_id": tid} for (i, _), tid in zip(valid, ids, strict=True)]
        results.sort(key=lambda r: int(r["index"]))
        status = 202 if len(valid) == len(items) else (207 if valid else 422)
        rejected = len(items) - len(valid)
        content: dict[str, Any] = {"accepted": len(valid), "rejected": rejected, "results": results}
        if rejected:
            content["detail"] = f"{rejected} of {len(items)} tasks rejected; see results[].errors"
        return JSONResponse(status_code=status, content=content)


async def source_of(
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> SourceSystem:
    """FastAPI dependency: the authenticated source system, counted against its rate limit (429)."""
    intake: TaskIntake = request.app.state.intake
    source = intake.authenticate(x_api_key, authorization)
    limits: RateLimits = request.app.state.limits
    await limits.check("source", source.name)
    return source


Source = Annotated[SourceSystem, Depends(source_of)]


def create_app(
    catalog: Catalog,
    bus: Bus,
    topics: TopicNames | None = None,
    *,
    routing: RoutingConfig | None = None,
    store: AgentStore | None = None,
    inbox: Inbox | None = None,
    clock: Clock = time.time,
    timings: StreamTimings | None = None,
    sign_in: SignIn | None = None,
    limits: RateLimits | None = None,
) -> FastAPI:
    """The api application over a started bus; with a routing config and a live store, the agent API too.

    `sign_in` says which tokens name agents (default: the static tokens of agents.yaml); `limits` counts
    requests per source and per agent (default: no limits)."""
    app = FastAPI(title="workrouter api", version="1")
    topics = topics or TopicNames()
    intake = TaskIntake(catalog, bus, topics)
    app.state.intake = intake
    limits = limits or RateLimits(clock=clock)
    app.state.limits = limits

    _error_handlers(app)
    sign_in_bodies: tuple[type[TokenBody], ...] = ()
    if routing is not None and store is not None:
        agents = AgentApi(
            routing, store, bus, topics, inbox=inbox, clock=clock, timings=timings, sign_in=sign_in, limits=limits
        )
        app.state.agent_api = agents
        for routes in (agent_routes, task_routes, workbin_routes, stream_routes, supervisor_routes, agent_admin_routes):
            app.include_router(routes(agents))
        if agents.sign_in.passwords is not None:
            app.include_router(auth_routes(agents, agents.sign_in.passwords))
            sign_in_bodies = (TokenBody,)
        mount_ui(app, agents)  # the browser UI under /ui/, on the same routes (decisions D28)

    _source_routes(app, intake)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    add_schemas(app, (*SOURCE_BODIES, *AGENT_BODIES, *RESPONSE_MODELS, *sign_in_bodies))
    return app


def _error_handlers(app: FastAPI) -> None:
    """Every error as a problem document (RFC 9457), invalid requests naming each field."""
    install_http_errors(app)

    @app.exception_handler(HttpError)
    async def _http_error(_: Request, exc: HttpError) -> JSONResponse:
        return exc.response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldError(loc=".".join(str(p) for p in e["loc"]), msg=e["msg"]) for e in exc.errors()]
        return problem(422, "invalid request", errors)


def _source_routes(app: FastAPI, intake: TaskIntake) -> None:
    """What source systems call: capture (one or many), update, and the lifecycle actions."""

    @app.post("/v1/tasks", status_code=202, responses=CAPTURE_RESPONSES, openapi_extra=CAPTURE_BODY)
    async def create_tasks(request: Request, source: Source) -> JSONResponse:
        doc = await intake.read_json(request)
        if isinstance(doc, list):
            return await intake.bulk(doc, source)
        return await intake.accepted(intake.command(c.CaptureTask, doc, source, "body"))

    @app.patch(
        "/v1/tasks/{external_id}",
        status_code=202,
        responses=COMMAND_RESPONSES,
        openapi_extra=request_body(ref(UpdateTaskBody)),
    )
    async def update_task(external_id: str, request: Request, source: Source) -> JSONResponse:
        doc = await intake.read_json(request)
        return await intake.accepted(intake.command(c.UpdateTask, doc, source, "body", external_id=external_id))

    for action, body in LIFECYCLE_BODIES.items():
        app.add_api_route(
            f"/v1/tasks/{{external_id}}/{action}",
            _lifecycle(intake, LIFECYCLE[action]),
            methods=["POST"],
            name=f"{action}_task",
            status_code=202,
            responses=COMMAND_RESPONSES,
            openapi_extra=request_body(ref(body), required=action == "reschedule"),
        )

    @app.post("/v1/tasks/{external_id}/{action}", include_in_schema=False)
    async def unknown_action(action: str, source: Source) -> JSONResponse:
        return problem(404, f"unknown action {action!r}; one of: {', '.join(LIFECYCLE)}")


def _lifecycle(intake: TaskIntake, model: type[c.SourceCommand]) -> Callable[..., Awaitable[JSONResponse]]:
    """The route of one lifecycle command (its body is optional: `{}` when empty)."""

    async def command(external_id: str, request: Request, source: Source) -> JSONResponse:
        doc = await intake.read_json(request, empty={})
        return await intake.accepted(intake.command(model, doc, source, "body", external_id=external_id))

    return command
