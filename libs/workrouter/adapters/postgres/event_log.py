"""The event log in PostgreSQL: every event of `wr.tasks` and `wr.agents`, once, plus current-state tables.

A batch is written in one transaction: its events are COPYed straight into `event_log`, in order (so
`seq` orders each task's events as Kafka did), then folded into `task_state` and `agent_state`. The
unique index on `event_id` keeps the log to one copy of each event: when it refuses the COPY (a
redelivered or re-published event), the batch is written again without the events found there, so
only new events are folded. The log is append-only. It is indexed,
not partitioned: PostgreSQL enforces a unique key on a partitioned table only when it includes the
partition column, and a re-published event (same id) may carry a new time, so dedupe by id alone
needs a unique index over the whole log. Reports reach their rows through (type, time) and
(task_id, seq); docs/reporting.md has the layout and the figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from workrouter.adapters.postgres.event_log_schema import SCHEMA_DDL, TASK_COLUMNS, schema_sql
from workrouter.adapters.postgres.reports.views import views_ddl
from workrouter.adapters.postgres.task_reads import TaskReads, task_row
from workrouter.bus.port import Delivery
from workrouter.contracts.agent_events import AgentPresenceChanged
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import TaskEvent
from workrouter.domain.reporting.dimensions import Dimensions
from workrouter.domain.reporting.task_query import TaskQuery
from workrouter.domain.reporting.task_row import TaskRow, fold

Connection = asyncpg.Connection | PoolConnectionProxy
EVENT_COLUMNS = (
    "event_id", "time", "type", "task_id", "agent_id", "queue", "producer", "topic", "kafka_partition",
    "kafka_offset", "data",
)  # fmt: skip
_ROW_FIELDS = tuple(f.name for f in fields(TaskRow))
_ROW_VALUES = attrgetter(*_ROW_FIELDS)
T = TypeVar("T")
COPY_PART = 500  # rows per COPY: the first part's rows are built while the server waits


def short_type(event_type: str) -> str:
    """`workrouter.task.offered` -> `task.offered` (what the log and the reports use)."""
    return event_type.removeprefix("workrouter.")


def _event_row(envelope: Envelope, delivery: Delivery | None) -> tuple[Any, ...]:
    data = envelope.data
    fields = data.__dict__  # a pydantic model's field values; getattr() of a field it lacks is slow
    return (
        envelope.id,
        envelope.time,
        short_type(envelope.type),
        fields.get("task_id") if isinstance(data, TaskEvent) else None,
        fields.get("agent_id"),
        fields.get("queue"),
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
        """Create the tables, indexes and views (idempotent; safe to run from many processes at once: two
        sessions' `CREATE ... IF NOT EXISTS` at the same moment would otherwise both create, and one fail)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('workrouter.reporting.migrate'))")
            await conn.execute(SCHEMA_DDL.format(s=self._schema))
            await conn.execute(views_ddl(self._schema))

    async def write(self, batch: Sequence[tuple[Envelope, Delivery | None]]) -> int:
        """Store a batch (in order) and fold the new events into the state tables; how many were new."""
        events = _distinct(batch)
        if not events:
            return 0
        try:
            return await self._store(events, look_up=False)
        except asyncpg.UniqueViolationError:  # some were stored before (a redelivery): find which, store the rest
            return await self._store(events, look_up=True)

    async def _store(self, events: list[tuple[Envelope, Delivery | None]], *, look_up: bool) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            if look_up:
                ids = [env.id for env, _ in events]
                known = {r["event_id"] for r in await conn.fetch(self._sql.known_events, ids)}
                events = [(env, d) for env, d in events if env.id not in known]
                if not events:
                    return 0
            tasks = [(env.data.task_id, env) for env, _ in events if isinstance(env.data, TaskEvent)]
            found = await conn.fetch(self._sql.load_tasks, sorted({task_id for task_id, _ in tasks})) if tasks else []
            folded = await self._copy_events(conn, events, lambda: _fold(found, tasks))
            if folded:
                await conn.execute(self._sql.stage_tasks)
                await conn.copy_records_to_table("wr_stage_tasks", records=folded, columns=TASK_COLUMNS)
                await conn.execute(self._sql.upsert_tasks)
            await self._fold_agents(conn, [env for env, _ in events if isinstance(env.data, AgentPresenceChanged)])
        return len(events)

    async def _copy_events(
        self, conn: Connection, events: list[tuple[Envelope, Delivery | None]], work: Callable[[], T]
    ) -> T:
        """COPY the events into the log in parts, and return `work()`, done while the server inserts the last part.

        Each part's rows are built while the server inserts the previous one, so Python and PostgreSQL use a
        core each instead of taking turns; seq still follows the batch's order (the parts go one after another).
        """
        copying: asyncio.Future[str] | None = None
        try:
            for start in range(0, len(events), COPY_PART):
                rows = [_event_row(env, d) for env, d in events[start : start + COPY_PART]]
                if copying is not None:
                    await copying
                sent = asyncio.Event()
                copy = conn.copy_records_to_table(
                    "event_log", schema_name=self._schema, records=_telling(rows, sent), columns=EVENT_COLUMNS
                )
                copying = asyncio.ensure_future(copy)
                all_sent = asyncio.ensure_future(sent.wait())
                await asyncio.wait((copying, all_sent), return_when=asyncio.FIRST_COMPLETED)
                all_sent.cancel()
            result = work()
            if copying is not None:
                await copying
            return result
        finally:
            if copying is not None and not copying.done():  # cancelled from outside: end the COPY first
                copying.cancel()
                await asyncio.wait((copying,))

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
        """Task rows matching every condition given, most recently changed first (TaskReads has every filter)."""
        query = TaskQuery(status=status, queue=queue, agent_id=agent_id, open=open, limit=limit)
        return await TaskReads(self._pool, self._schema).tasks(query)


def _distinct(batch: Sequence[tuple[Envelope, Delivery | None]]) -> list[tuple[Envelope, Delivery | None]]:
    """The batch without repeats of an event id (the same id twice in one batch is one event)."""
    seen: set[str] = set()
    distinct = []
    for env, delivery in batch:
        if env.id not in seen:
            seen.add(env.id)
            distinct.append((env, delivery))
    return distinct


def _telling(rows: list[tuple[Any, ...]], sent: asyncio.Event) -> Iterator[tuple[Any, ...]]:
    """`rows`, setting `sent` once the last was taken (the COPY then only waits for the server)."""
    yield from rows
    sent.set()


def _fold(found: list[asyncpg.Record], events: list[tuple[str, Envelope]]) -> list[tuple[Any, ...]]:
    """The task rows (as COPY records) after folding `events` (task id, event) into the rows `found`."""
    rows: dict[str, TaskRow] = {r["task_id"]: task_row(r) for r in found}
    for task_id, env in events:
        rows[task_id] = fold(rows.get(task_id), env)
    skills = _ROW_FIELDS.index("skills")
    records = [_ROW_VALUES(row) for row in rows.values()]
    return [(*r[:skills], list(r[skills]), *r[skills + 1 :]) for r in records]  # text[] goes as a list
