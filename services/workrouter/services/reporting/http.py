"""The reporting HTTP API: reports as JSON or CSV, the task list, /metrics and /healthz."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.reports.runner import SPECS, EventLogMissingError, UnknownReportError, run_report
from workrouter.domain.reporting.request import ReportRequest
from workrouter.services.reporting.render import as_csv, as_json

MAX_TASKS = 1000


def problem(status: int, detail: str) -> JSONResponse:
    """An RFC 9457 problem document."""
    return JSONResponse(
        {
            "status": status,
            "title": {400: "bad request", 404: "not found"}.get(status, "unavailable"),
            "detail": detail,
        },
        status_code=status,
        media_type="application/problem+json",
    )


def parse_request(
    start: str | None,
    end: str | None,
    *,
    interval: str | None = None,
    group: str | None = None,
    tz: str | None = None,
    thresholds: str | None = None,
) -> ReportRequest:
    """A ReportRequest from query text; ValueError naming every problem."""
    if not start or not end:
        raise ValueError(
            "give the period as from=<RFC 3339 time> and to=<RFC 3339 time>, e.g. from=2026-11-02T00:00:00Z"
        )
    doc: dict[str, Any] = {"start": start, "end": end}
    if interval:
        doc["interval"] = interval
    if group:
        doc["group_by"] = tuple(g.strip() for g in group.split(",") if g.strip())
    if tz:
        doc["tz"] = tz
    if thresholds:
        try:
            doc["thresholds"] = tuple(int(t) for t in thresholds.split(","))
        except ValueError:
            raise ValueError("thresholds must be whole seconds separated by commas, e.g. 20,60,300") from None
    try:
        return ReportRequest.model_validate(doc)
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in exc.errors())
        ) from None


def create_app(log: EventLog) -> FastAPI:
    """The reporting app over an event log."""
    app = FastAPI(title="workrouter reporting", version="1")

    @app.get("/v1/reports")
    async def reports() -> dict[str, Any]:
        return {"reports": [spec.model_dump() for spec in SPECS.values()]}

    @app.get("/v1/reports/{name}", response_model=None)
    async def report(
        name: str,
        *,
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
        interval: str | None = None,
        group: str | None = None,
        tz: str | None = None,
        thresholds: str | None = None,
        format: str | None = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response | dict[str, Any]:
        if name not in SPECS:
            return problem(404, f"unknown report {name!r}; known: {', '.join(SPECS)}")
        wants_csv = format == "csv" or (format is None and accept is not None and "text/csv" in accept)
        if format not in (None, "json", "csv"):
            return problem(400, f"format must be json or csv, got {format!r}")
        try:
            result = await run_report(
                log.pool,
                name,
                parse_request(start, end, interval=interval, group=group, tz=tz, thresholds=thresholds),
                schema=log.schema,
            )
        except (ValueError, UnknownReportError) as exc:
            return problem(400, str(exc))
        except EventLogMissingError as exc:
            return problem(503, str(exc))
        if wants_csv:
            return PlainTextResponse(as_csv(result), media_type="text/csv; charset=utf-8")
        return as_json(result)

    @app.get("/v1/tasks")
    async def tasks(
        *,
        status: str | None = None,
        queue: str | None = None,
        agent: str | None = None,
        open: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_TASKS)] = 100,
    ) -> dict[str, Any]:
        rows = await log.tasks(status=status, queue=queue, agent_id=agent, open=open, limit=limit)
        return {"tasks": [{k: _iso(v) for k, v in dataclasses.asdict(r).items()} for r in rows]}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else list(value) if isinstance(value, tuple) else value
