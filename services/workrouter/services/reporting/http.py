"""The reporting HTTP API: reports as JSON or CSV, the task routes (task_routes.py) and /healthz (credentials:
access.py).

Every parameter is checked before any query (a 400 problem document naming it); a report runs within the
limits (a 422 when it would exceed one), at most `concurrent` at a time (a 429 past a short wait), and
is rendered off the event loop, so a long report never stalls the other requests of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.reports.limits import ReportLimits
from workrouter.adapters.postgres.reports.offload import off_loop
from workrouter.adapters.postgres.reports.runner import SPECS, EventLogMissingError, Report, run_report
from workrouter.adapters.postgres.task_reads import TaskReads
from workrouter.domain.reporting.parse import parse_request
from workrouter.domain.reporting.problems import ReportParameterError, shown, text_problem
from workrouter.domain.reporting.request import ReportRequest
from workrouter.services.openapi import add_schemas, responses
from workrouter.services.problems import MEDIA_TYPE, Problem, problem
from workrouter.services.reporting.access import ReportsAccess, guard
from workrouter.services.reporting.errors import install_handlers
from workrouter.services.reporting.query import strict_query
from workrouter.services.reporting.render import as_csv, json_bytes
from workrouter.services.reporting.task_routes import TASK_MODELS, task_router

REPORT_PARAMETERS = ("from", "to", "interval", "group", "tz", "thresholds", "format")
FORMATS = ("json", "csv")
BUSY_RETRY_SECONDS = 5
REPORT_OK = {
    "description": "The report: JSON, or CSV with format=csv (or Accept: text/csv).",
    "content": {
        "application/json": {"schema": {"type": "object", "additionalProperties": True}},
        "text/csv": {"schema": {"type": "string"}},
    },
}


def _documented(names: tuple[str, ...]) -> dict[str, Any]:
    """OpenAPI entries for parameters the route reads from the raw query string itself."""
    return {"parameters": [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names]}


Runner = Callable[..., Awaitable[Report]]


def create_app(
    log: EventLog,
    *,
    access: ReportsAccess,
    limits: ReportLimits | None = None,
    concurrent: int = 3,
    wait_seconds: float = 10.0,
    run: Runner = run_report,
) -> FastAPI:
    """The reporting app over an event log, for the credentials `access` accepts; at most `concurrent` reports
    `run` at once (others wait `wait_seconds`)."""
    app = FastAPI(title="workrouter reporting", version="1")
    install_handlers(app)
    guard(app, access)
    limits = limits or ReportLimits()
    slot = _slots(concurrent, wait_seconds)

    @app.get("/v1/reports", responses=documented(401, 403, s200={"description": "The reports and their parameters."}))
    async def reports() -> dict[str, Any]:
        return {"reports": [spec.model_dump() for spec in SPECS.values()]}

    @app.get(
        "/v1/reports/{name}",
        response_model=None,
        openapi_extra=_documented(REPORT_PARAMETERS),
        responses=documented(400, 401, 403, 404, 422, 429, 503, s200=REPORT_OK),
    )
    async def report(name: str, request: Request) -> Response:
        if name not in SPECS:
            return problem(404, f"unknown report {shown(name)}; known: {', '.join(SPECS)}")
        params = strict_query(request.scope["query_string"], REPORT_PARAMETERS)
        wants_csv = _wants_csv(params.get("format"), request.headers.get("accept"))
        parsed = _parsed(params)
        try:
            async with slot():
                result = await run(log.pool, name, parsed, schema=log.schema, limits=limits)
        except _BusyError:
            return problem(
                429,
                f"{concurrent} reports are running; ask again in a few seconds",
                headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
            )
        except EventLogMissingError as exc:
            return problem(503, str(exc))
        # Building a large JSON document or CSV text is CPU work: off the event loop.
        if wants_csv:
            return Response(await off_loop(as_csv, result), media_type="text/csv; charset=utf-8")
        return Response(await off_loop(json_bytes, result), media_type="application/json")

    app.include_router(task_router(TaskReads(log.pool, log.schema), documented))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    add_schemas(app, [Problem, *TASK_MODELS])
    return app


def _slots(concurrent: int, wait_seconds: float) -> Callable[[], contextlib.AbstractAsyncContextManager[None]]:
    """At most `concurrent` reports at once; one that waits longer than `wait_seconds` for a slot is refused."""
    slots = asyncio.Semaphore(concurrent)

    @contextlib.asynccontextmanager
    async def slot() -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(wait_seconds):
                await slots.acquire()
        except TimeoutError:
            raise _BusyError from None
        try:
            yield
        finally:
            slots.release()

    return slot


def _parsed(params: dict[str, str]) -> ReportRequest:
    """The report's request from its query parameters (ReportParameterError naming every problem)."""
    return parse_request(
        params.get("from"),
        params.get("to"),
        interval=params.get("interval"),
        group=params.get("group"),
        tz=params.get("tz"),
        thresholds=params.get("thresholds"),
    )


def documented(*statuses: int, **success: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a reports route: each error status as a problem document (application/problem+json)."""
    return responses(Problem, MEDIA_TYPE, statuses, **success)


class _BusyError(Exception):
    """Every report slot stayed taken for the whole wait."""


def _wants_csv(format_: str | None, accept: str | None) -> bool:
    if format_ is None:
        return accept is not None and "text/csv" in accept
    problem_ = text_problem(format_, ascii_only=True)
    if problem_ is None and format_ not in FORMATS:
        problem_ = f"format must be json or csv, got {shown(format_)}"
    if problem_ is not None:
        raise ReportParameterError.one("format", problem_)
    return format_ == "csv"
