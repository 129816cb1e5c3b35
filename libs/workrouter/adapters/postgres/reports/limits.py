"""Running a report's SQL within limits, so that no report holds the database, or the process, for long:
a statement timeout, a ceiling on the planner's estimated cost (checked before the query runs), and a
ceiling on the rows it returns (fetched in chunks, so other work on the event loop runs in between)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from workrouter.domain.reporting.problems import ReportParameterError

Connection = asyncpg.Connection | PoolConnectionProxy
CHUNK_ROWS = 1_000
NARROW = "narrow the period, use a coarser interval, or fewer groupings"


@dataclass(frozen=True, slots=True)
class ReportLimits:
    """How much one report may cost (WR_REPORTS_* settings of the reporting service; 0 turns a limit off)."""

    statement_timeout_seconds: float = 30.0
    max_cost: float = 30_000_000.0
    max_rows: int = 250_000


class ReportRefusedError(Exception):
    """The report is valid but larger than the limits allow; `limit` says which one (time, cost, rows)."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(detail)
        self.limit = limit


async def fetch_within(
    conn: Connection, sql: str, args: list[Any], limits: ReportLimits
) -> tuple[tuple[str, ...], list[asyncpg.Record]]:
    """The query's column names and rows; ReportRefusedError when it would exceed `limits`.

    Runs inside the caller's transaction (SET LOCAL ends with it).
    """
    timeout_ms = round(limits.statement_timeout_seconds * 1000)
    await conn.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
    try:
        if limits.max_cost > 0:
            await _check_cost(conn, sql, args, limits.max_cost)
        statement = await conn.prepare(sql)
        columns = tuple(a.name for a in statement.get_attributes())
        cursor = await statement.cursor(*args)
        records: list[asyncpg.Record] = []
        while chunk := await cursor.fetch(CHUNK_ROWS):
            records.extend(chunk)
            if limits.max_rows and len(records) > limits.max_rows:
                raise ReportRefusedError("rows", f"the report has more than {limits.max_rows:,} rows; {NARROW}")
    except asyncpg.QueryCanceledError:
        raise ReportRefusedError(
            "time", f"the report took longer than {limits.statement_timeout_seconds:g} s and was stopped; {NARROW}"
        ) from None
    except asyncpg.InvalidParameterValueError as exc:
        if "time zone" in str(exc):  # a zone Python knows and this PostgreSQL's zone database does not
            raise ReportParameterError.one("tz", f"the database does not know this time zone ({exc})") from None
        raise ReportParameterError.one("request", f"the database refused the parameters ({exc})") from None
    except asyncpg.DataError as exc:  # a value the bounds let through and PostgreSQL cannot hold
        raise ReportParameterError.one("request", f"the database refused the parameters ({exc})") from None
    return columns, records


async def _check_cost(conn: Connection, sql: str, args: list[Any], max_cost: float) -> None:
    plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))
    cost = float(plan[0]["Plan"]["Total Cost"])
    if cost > max_cost:
        raise ReportRefusedError(
            "cost",
            f"the report is estimated to cost {cost:,.0f} (PostgreSQL planner units), more than the "
            f"{max_cost:,.0f} allowed; {NARROW}",
        )
