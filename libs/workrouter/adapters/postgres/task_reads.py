"""Reads of tasks from the event log: the task list, one task's row with its fact events, one task's history.

Each read of one task is index probes only: its `task_state` row by primary key and its events through
`event_log_task_seq` (task_id, seq), so it costs the same whatever the size of the log. The list reads
`task_state` (one row per task) with the filters given, sorted and cut at the limit.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import asyncpg

from workrouter.domain.reporting.task_history import LoggedEvent
from workrouter.domain.reporting.task_query import HistoryQuery, Order, TaskQuery
from workrouter.domain.reporting.task_row import TaskRow

_ROW_FIELDS = tuple(f.name for f in fields(TaskRow))
# Fixed text per order (never built from input); task_id last, so equal keys keep one order between calls.
# updated and created follow an index (task_state_updated; task_state_created read backwards, its nulls
# first: created_at is set by a task's first event, so never null), so the first page is an index scan.
ORDER_BY: dict[Order, str] = {
    "updated": "updated_at DESC NULLS LAST, task_id",
    "created": "created_at DESC, task_id",
    "due": "due_at ASC NULLS LAST, task_id",
}
_EVENT_COLUMNS = "seq, event_id, time, type, agent_id, queue, data"
# Conditions of the list: a value compared to a column, or a flag's fixed text for true and for false.
_EQUAL = {"status": "status", "queue": "queue", "agent_id": "agent_id", "type": "type", "source": "source"}
_FLAGS = {
    "open": ("closed_at IS NULL", "closed_at IS NOT NULL"),
    "escalated": ("escalations > 0", "escalations = 0"),
    "error_held": ("status = 'error_held'", "status <> 'error_held'"),
}


def list_sql(schema: str, query: TaskQuery) -> tuple[str, list[Any]]:
    """The list's statement and arguments: only the conditions given, so the planner sees them as they are
    (`closed_at IS NULL AND queue = $1` can use the partial index of open tasks; `$1 IS NULL OR ...` cannot).
    The text comes from the fixed pieces above, never from the query's values."""
    where: list[str] = []
    args: list[Any] = []
    for field, column in _EQUAL.items():
        value = getattr(query, field)
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    for field, (when_true, when_false) in _FLAGS.items():
        flag = getattr(query, field)
        if flag is not None:
            where.append(when_true if flag else when_false)
    args.append(query.limit)
    condition = f"WHERE {' AND '.join(where)} " if where else ""
    return f"SELECT * FROM {schema}.task_state {condition}ORDER BY {ORDER_BY[query.order]} LIMIT ${len(args)}", args


def task_row(record: asyncpg.Record) -> TaskRow:
    """A TaskRow from a `task_state` record."""
    values = {name: record[name] for name in _ROW_FIELDS}
    values["skills"] = tuple(values["skills"] or ())
    return TaskRow(**values)


def logged_event(record: asyncpg.Record) -> LoggedEvent:
    """A LoggedEvent from an `event_log` record (its jsonb data arrives as text)."""
    data = record["data"]
    parsed = json.loads(data) if isinstance(data, str) else data
    return LoggedEvent(
        seq=record["seq"],
        event_id=record["event_id"],
        time=record["time"],
        type=record["type"],
        agent_id=record["agent_id"],
        queue=record["queue"],
        data=parsed if isinstance(parsed, dict) else {},
    )


class TaskReads:
    """The task reads of one event log (its pool and schema)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        s = schema
        self._schema = schema
        self._row = f"SELECT * FROM {s}.task_state WHERE task_id = $1"
        self._known = f"SELECT true FROM {s}.task_state WHERE task_id = $1"
        self._facts = f"""SELECT {_EVENT_COLUMNS} FROM {s}.event_log
            WHERE task_id = $1 AND type = ANY($2::text[]) ORDER BY seq"""
        self._history = f"""SELECT {_EVENT_COLUMNS} FROM {s}.event_log
            WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"""

    async def tasks(self, query: TaskQuery) -> list[TaskRow]:
        """The task rows matching every condition of `query`, in its order, at most its limit."""
        sql, args = list_sql(self._schema, query)
        async with self._pool.acquire() as conn:
            return [task_row(r) for r in await conn.fetch(sql, *args)]

    async def task(self, task_id: str, event_types: tuple[str, ...]) -> tuple[TaskRow, list[LoggedEvent]] | None:
        """The task's row and its events of `event_types` in log order; None for a task the log does not know."""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            record = await conn.fetchrow(self._row, task_id)
            if record is None:
                return None
            events = await conn.fetch(self._facts, task_id, list(event_types))
        return task_row(record), [logged_event(e) for e in events]

    async def history(self, task_id: str, query: HistoryQuery) -> list[LoggedEvent] | None:
        """Up to limit + 1 of the task's events after seq `after`, in log order (the extra one says more follow);
        None for a task the log does not know."""
        async with self._pool.acquire() as conn:
            events = await conn.fetch(self._history, task_id, query.after, query.limit + 1)
            if not events and await conn.fetchval(self._known, task_id) is None:
                return None
        return [logged_event(e) for e in events]
