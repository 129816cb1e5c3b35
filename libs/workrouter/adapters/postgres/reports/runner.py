"""The reports by name: their specs, and running one against the event log."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from workrouter.adapters.postgres.reports import queues, tasks, work
from workrouter.adapters.postgres.reports.limits import ReportLimits, fetch_within
from workrouter.adapters.postgres.reports.offload import off_loop
from workrouter.adapters.postgres.reports.sql_parts import grouping
from workrouter.domain.reporting.request import ReportRequest, ReportSpec

SPECS: dict[str, ReportSpec] = {
    s.name: s
    for s in (
        ReportSpec(
            name="service-level",
            description="Per queue: tasks answered within each service-level threshold (absolute, cumulative, %).",
            groups=("queue", "channel", "skill"),
            always=("queue",),
        ),
        ReportSpec(
            name="queue-summary",
            description="Per queue: offered, answered, abandoned, transferred; average and max wait; handle time.",
            groups=("queue", "channel", "skill"),
            always=("queue",),
        ),
        ReportSpec(
            name="queue-detail",
            description="Every stay of a task in a queue that began in the period: outcome, wait, offers, handle.",
            groups=(),
        ),
        ReportSpec(
            name="wrap-up",
            description="Completions by wrap-up code (NS: none given), queue and agent: count, handle time, ACW.",
            groups=("code", "queue", "agent"),
            default_groups=("code", "queue", "agent"),
        ),
        ReportSpec(
            name="agent-status",
            description="Seconds each agent spent ready and not ready, by not-ready reason.",
            groups=(),
        ),
        ReportSpec(
            name="agent-stats",
            description="Per agent: logged-in, ready, not-ready and busy time, tasks handled, occupancy.",
            groups=(),
        ),
        ReportSpec(
            name="tasks",
            description="Per work type: opened, completed, escalated; time to close; overdue and finished overdue.",
            groups=(),
        ),
        ReportSpec(
            name="fairness",
            description="Per queue and agent: tasks and handle time over the period, with each queue's spread (CV).",
            groups=(),
            intervals=("total",),
        ),
    )
}
DEFAULT_LIMITS = ReportLimits()
WRAP_UP_DIMS = {"code": "d.code", "queue": "d.queue", "agent": "d.agent_id"}
ROUND_TO = 3


class UnknownReportError(LookupError):
    """No report has that name."""


class EventLogMissingError(LookupError):
    """The database has no event log (the reporting service never ran against it)."""


@dataclass(frozen=True, slots=True)
class Report:
    """A report's rows, its columns in order, and what it was asked."""

    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    request: ReportRequest


def spec(name: str) -> ReportSpec:
    """The spec of a report, or UnknownReportError naming the known ones."""
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownReportError(f"unknown report {name!r}; known: {', '.join(SPECS)}") from None


def _sql(name: str, request: ReportRequest, s: str) -> tuple[str, list[Any], tuple[str, ...]]:
    """The query, its extra parameters (after the four common ones), and the grouping names."""
    groups = request.group_by
    if name in ("service-level", "queue-summary"):
        g = grouping(groups, queues.QUEUE_DIMS, queues.QUEUE_JOINS, "v.entered_at")
        if name == "queue-summary":
            return queues.summary_sql(s, g), [], g.names
        thresholds = list(request.thresholds) if request.thresholds else None
        return queues.service_level_sql(s, g), [thresholds], g.names
    if name == "wrap-up":
        g = grouping(groups, WRAP_UP_DIMS, {}, "d.done_at")
        return work.wrap_up_sql(s, g), [], g.names
    fixed = {
        "queue-detail": queues.detail_sql,
        "agent-status": work.agent_status_sql,
        "agent-stats": work.agent_stats_sql,
        "tasks": tasks.tasks_sql,
        "fairness": work.fairness_sql,
    }
    return fixed[name](s), [], ()


async def run_report(
    pool: asyncpg.Pool,
    name: str,
    request: ReportRequest,
    *,
    schema: str = "public",
    limits: ReportLimits = DEFAULT_LIMITS,
) -> Report:
    """Run one report within `limits`.

    Raises UnknownReportError or ReportParameterError (a grouping or interval the report does not take) before
    any query, ReportRefusedError when it would exceed a limit, EventLogMissingError without an event log.
    """
    report_spec = spec(name)
    request = request.for_spec(report_spec)
    sql, extra, names = _sql(name, request, schema)
    args = [request.start, request.end, request.step, request.tz, *extra]
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        # JIT compiling these plans costs seconds (2.9 s of 4.3 s for a day's queue summary at 1M events)
        # and saves nothing on index-driven work; docs/reporting.md says the same for Grafana's role.
        await conn.execute("SET LOCAL jit = off")
        try:
            columns, records = await fetch_within(conn, sql, args, limits)
        except asyncpg.UndefinedTableError as exc:
            raise EventLogMissingError(
                f"no event log in schema {schema!r} of this database ({exc}); start the reporting service "
                "against it first (`make service NAME=reporting`), or point WR_DATABASE_URL / WR_DB_SCHEMA at it"
            ) from None
    # Turning many records into rows is CPU work: off the event loop, so the process's other requests go on.
    rows = await off_loop(_rows, name, records, names)
    if name == "service-level":
        columns = (*names, "offered", "answered", "abandoned", "thresholds")
    return Report(name, columns, rows, request)


def _rows(name: str, records: list[asyncpg.Record], names: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = [{k: _plain(v) for k, v in r.items()} for r in records]
    return queues.fold_service_level(rows, names) if name == "service-level" else rows


def _plain(value: Any) -> Any:
    """JSON-able values: datetimes as ISO text, numbers rounded to milliseconds."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, ROUND_TO) if math.isfinite(value) else None
    return value
