"""The event log in PostgreSQL: every event of `wr.tasks` and `wr.agents`, once, plus current-state tables.

A batch is written in one transaction: COPY into a temp table, one INSERT ... ON CONFLICT (event_id)
DO NOTHING into `event_log` (so a redelivered or re-published event is stored once), then the events
that were new are folded into `task_state` and `agent_state`. The log is append-only. It is indexed,
not partitioned: PostgreSQL enforces a unique key on a partitioned table only when it includes the
partition column, and a re-published event (same id) may carry a new time, so dedupe by id alone
needs a unique index over the whole log. Reports reach their rows through (type, time) and
(task_id, seq); docs/reporting.md has the layout and the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from workrouter.adapters.postgres.event_log_schema import SCHEMA_DDL, TASK_COLUMNS, schema_sql
from workrouter.adapters.postgres.reports.views import views_ddl
from workrouter.bus.port import Delivery
from workrouter.contracts.agent_events import AgentPresenceChanged
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import TaskEvent
from workrouter.domain.reporting.dimensions import Dimensions
from workrouter.domain.reporting.task_row import TaskRow, fold

Connection = asyncpg.Connection | PoolConnectionProxy
EVENT_COLUMNS = (
    "ord", "event_id", "time", "type", "task_id", "agent_id", "queue", "producer", "topic", "kafka_partition",
    "kafka_offset", "data",
)  # fmt: skip
_ROW_FIELDS = tuple(f.name for f in fields(TaskRow))
_ROW_VALUES = attrgetter(*_ROW_FIELDS)


def short_type(event_type: str) -> str:
    """`workrouter.task.offered` -> `task.offered` (what the log and the reports use)."""
    return event_type.removeprefix("workrouter.")


def _event_row(ord_: int, envelope: Envelope, delivery: Delivery | None) -> tuple[Any, ...]:
    data = envelope.data
    return (
        ord_,
        envelope.id,
        envelope.time,
        short_type(envelope.type),
        data.task_id if isinstance(data, TaskEvent) else None,
        getattr(data, "agent_id", None),
        getattr(data, "queue", None),
        envelope.source,
        delivery.topic if delivery else None,
        delivery.partition if delivery else None,
        delivery.offset if delivery else None,
        data.model_dump_json(),
    )


class EventLog:
    """Writes batches of events and keeps the current-state tables; also reads task rows back."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str = "public") -> None:
        self._pool = pool
        self._schema = schema
        self._sql = schema_sql(schema)

    @property
    def pool(self) -> asyncpg.Pool:
        """The connection pool (reports run on it)."""
        return self._pool

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the tables."""
        return self._schema

    async def migrate(self) -> None:
        """Create the tables and indexes (idempotent)."""
        async with self._pool.acquire() as conn:
            await conn.execute(SCHEMA_DDL.format(s=self._schema))
            await conn.execute(views_ddl(self._schema))

    async def write(self, batch: Sequence[tuple[Envelope, Delivery | None]]) -> int:
        """Store a batch (in order) and fold the new events into the state tables; how many were new."""
        if not batch:
            return 0
        rows = [_event_row(i, env, d) for i, (env, d) in enumerate(batch)]
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(self._sql.stage_events)
            await conn.copy_records_to_table("wr_stage_events", records=rows, columns=EVENT_COLUMNS)
            new_ids = {r["event_id"] for r in await conn.fetch(self._sql.insert_events)}
            stored = len(new_ids)
            fresh = []
            for env, _ in batch:
                if env.id in new_ids:
                    new_ids.discard(env.id)  # the same id twice in one batch is one event
                    fresh.append(env)
            await self._fold_tasks(conn, [e for e in fresh if isinstance(e.data, TaskEvent)])
            await self._fold_agents(conn, [e for e in fresh if isinstance(e.data, AgentPresenceChanged)])
        return stored

    async def _fold_tasks(self, conn: Connection, events: list[Envelope]) -> None:
        if not events:
            return
        ids = sorted({e.data.task_id for e in events if isinstance(e.data, TaskEvent)})
        found = await conn.fetch(self._sql.load_tasks, ids)
        rows: dict[str, TaskRow] = {r["task_id"]: _task_row(r) for r in found}
        for env in events:
            assert isinstance(env.data, TaskEvent)
            rows[env.data.task_id] = fold(rows.get(env.data.task_id), env)
        await conn.execute(self._sql.stage_tasks)
        records = [_ROW_VALUES(row) for row in rows.values()]
        await conn.copy_records_to_table("wr_stage_tasks", records=_with_lists(records), columns=TASK_COLUMNS)
        await conn.execute(self._sql.upsert_tasks)

    async def _fold_agents(self, conn: Connection, events: list[Envelope]) -> None:
        last: dict[str, Envelope] = {}
        for env in events:
            assert isinstance(env.data, AgentPresenceChanged)
            last[env.data.agent_id] = env
        args = []
        for env in last.values():
            assert isinstance(env.data, AgentPresenceChanged)
            args.append((env.data.agent_id, env.data.domain, env.data.presence, env.data.reason, env.time))
        if args:
            await conn.executemany(self._sql.upsert_agent, args)

    async def sync_dimensions(self, dims: Dimensions) -> None:
        """Replace the configuration the reports read (queues and thresholds, members, wrap-up codes)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(self._sql.clear_dimensions)
            await conn.executemany(
                self._sql.insert_queue, [(q.queue, q.domain, list(q.thresholds)) for q in dims.queues]
            )
            members = [(q.queue, agent) for q in dims.queues for agent in q.members]
            await conn.executemany(self._sql.insert_member, members)
            await conn.executemany(self._sql.insert_code, [(c,) for c in dims.wrap_up_codes])

    async def tasks(
        self,
        *,
        status: str | None = None,
        queue: str | None = None,
        agent_id: str | None = None,
        open: bool | None = None,
        limit: int = 100,
    ) -> list[TaskRow]:
        """Task rows matching every condition given, most recently changed first."""
        sql = f"""SELECT * FROM {self._schema}.task_state
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR queue = $2)
              AND ($3::text IS NULL OR agent_id = $3) AND ($4::boolean IS NULL OR (closed_at IS NULL) = $4)
            ORDER BY updated_at DESC NULLS LAST, task_id LIMIT $5"""
        async with self._pool.acquire() as conn:
            return [_task_row(r) for r in await conn.fetch(sql, status, queue, agent_id, open, limit)]


def _task_row(record: asyncpg.Record) -> TaskRow:
    values = {name: record[name] for name in _ROW_FIELDS}
    values["skills"] = tuple(values["skills"] or ())
    return TaskRow(**values)


def _with_lists(records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Skills go to PostgreSQL as a text[] (a list), not a tuple."""
    index = _ROW_FIELDS.index("skills")
    return [(*r[:index], list(r[index]), *r[index + 1 :]) for r in records]
