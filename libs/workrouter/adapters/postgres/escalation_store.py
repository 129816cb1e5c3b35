"""PostgreSQL implementation of the escalation service's store: task records and durable timers.

Due timers are found through a partial index on `due_at` over pending rows only, so `next_due` and
`firing` stay an index range scan however many timers wait. A small save binds its rows as arrays; a
large one COPYs them (rows encoded while the server takes them in): straight into the tables when none
of its tasks exists yet (a bulk load), else into temp tables that a few statements then apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from workrouter.domain.escalation.timer import Timer
from workrouter.ports.timers import TimerCounts

Item = tuple[str, dict[str, Any] | None, Sequence[Timer]]
Kept = tuple[str, dict[str, Any], Sequence[Timer]]
TIMER_COLUMNS = ("task_id", "kind", "ident", "due_at", "payload")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
COPY_ROWS = 1_000  # from this many records + timers on, a save goes through COPY

SCHEMA_DDL = """
CREATE TABLE IF NOT EXISTS {s}.escalation_tasks (task_id text PRIMARY KEY, record jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.escalation_timers (
    task_id text NOT NULL, kind text NOT NULL, ident text NOT NULL, due_at timestamptz NOT NULL,
    payload jsonb NOT NULL DEFAULT '{{}}'::jsonb, fired_at timestamptz NULL, PRIMARY KEY (task_id, kind));
CREATE INDEX IF NOT EXISTS escalation_timers_pending_due ON {s}.escalation_timers (due_at) WHERE fired_at IS NULL;
"""
STAGE_DDL = """
SET LOCAL jit = off;
CREATE TEMP TABLE IF NOT EXISTS wr_stage_tasks (task_id text, record jsonb, kinds text[]) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS wr_stage_timers (
    task_id text, kind text, ident text, due_at timestamptz, payload jsonb) ON COMMIT DROP;
TRUNCATE pg_temp.wr_stage_tasks, pg_temp.wr_stage_timers;
"""
# Statistics taken before a backlog built up make scanning and sorting every due row look cheaper than
# walking the pending-due index in order (which stops after `limit`); without sorts, `firing` walks the index.
FIRING_SETTINGS = "SET LOCAL enable_sort = off"
# Records first: their row locks serialise concurrent saves of one task before any timer is touched.
# A kind saved with its current ident is left alone, so a fired timer stays fired and keeps its due time.
UPSERT_TASKS = """INSERT INTO {tasks} (task_id, record) SELECT src.task_id, src.record FROM {src}
ON CONFLICT (task_id) DO UPDATE SET record = EXCLUDED.record"""
UPSERT_TIMERS = """INSERT INTO {timers} AS old (task_id, kind, ident, due_at, payload)
SELECT src.task_id, src.kind, src.ident, src.due_at, src.payload FROM {src}
ON CONFLICT (task_id, kind) DO UPDATE SET
    ident = EXCLUDED.ident, due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, fired_at = NULL
WHERE old.ident <> EXCLUDED.ident"""
DELETE_STALE = "DELETE FROM {timers} AS old USING {src} WHERE old.task_id = saved.task_id AND {stale}"


def check(task_id: str, record: dict[str, Any] | None, timers: Sequence[Timer]) -> None:
    """Raise ValueError for a save the port does not allow."""
    if record is None and timers:
        raise ValueError(f"task {task_id}: deleting the record (record=None) needs an empty timer set")
    kinds: set[str] = set()
    for timer in timers:
        if timer.kind in kinds:
            raise ValueError(f"task {task_id}: at most one timer of each kind, got {sorted(t.kind for t in timers)}")
        if timer.task_id != task_id:
            raise ValueError(f"task {task_id}: timer {timer.kind} belongs to task {timer.task_id}")
        if timer.due_at.tzinfo is None:
            raise ValueError(f"task {task_id}: timer {timer.kind} has a naive due_at; use timezone-aware times")
        kinds.add(timer.kind)


def rounds(items: Sequence[Item]) -> list[tuple[list[str], list[Kept]]]:
    """The saves in rounds of distinct tasks, each (deleted, kept) sorted by task id: one lock order for all."""
    seen: dict[str, int] = {}
    groups: list[list[Item]] = []
    for item in items:
        check(*item)
        n = seen[item[0]] = seen.get(item[0], -1) + 1
        if n == len(groups):  # a task saved again in the batch: its second save goes in the next round
            groups.append([])
        groups[n].append(item)
    out = []
    for group in groups:
        ordered = sorted(group, key=itemgetter(0))
        deleted = [task_id for task_id, record, _ in ordered if record is None]
        kept: list[Kept] = [(i, r, sorted(t, key=attrgetter("kind"))) for i, r, t in ordered if r is not None]
        out.append((deleted, kept))
    return out


def task_rows(kept: Sequence[Kept], *, kinds: bool) -> Iterator[tuple[Any, ...]]:
    """(task_id, record as JSON[, kinds of its timers]) per task, made as they are consumed."""
    for task_id, record, timers in kept:
        yield (task_id, json.dumps(record), [t.kind for t in timers]) if kinds else (task_id, json.dumps(record))


def timer_rows(kept: Sequence[Kept]) -> Iterator[tuple[str, str, str, datetime, str]]:
    """(task_id, kind, ident, due_at, payload as JSON) per timer, made as they are consumed."""
    for _, _, timers in kept:
        for t in timers:
            yield t.task_id, t.kind, t.ident, t.due_at, json.dumps(t.payload) if t.payload else "{}"


class PostgresEscalationStore:
    """EscalationStore in tables escalation_tasks and escalation_timers of one PostgreSQL schema."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str = "public") -> None:
        if not _IDENTIFIER.fullmatch(schema):
            raise ValueError(f"schema {schema!r} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)")
        self._pool = pool
        self.schema = schema
        self._tasks = tasks = f'"{schema}".escalation_tasks'
        self._timers = timers = f'"{schema}".escalation_timers'
        self._delete_tasks = (
            f"WITH gone AS (DELETE FROM {tasks} WHERE task_id = ANY($1::text[]))"
            f" DELETE FROM {timers} WHERE task_id = ANY($1::text[])"
        )
        self._upsert_tasks = UPSERT_TASKS.format(
            tasks=tasks, src="unnest($1::text[], $2::jsonb[]) src(task_id, record)"
        )
        self._delete_stale = DELETE_STALE.format(
            timers=timers,
            src="unnest($1::text[]) AS saved(task_id)",
            stale="NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS new(task_id, kind)"
            " WHERE new.task_id = old.task_id AND new.kind = old.kind)",
        )
        self._upsert_timers = UPSERT_TIMERS.format(
            timers=timers,
            src="unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])"
            " AS src(task_id, kind, ident, due_at, payload)",
        )
        self._apply_staged = ";\n".join(
            [
                UPSERT_TASKS.format(tasks=tasks, src="pg_temp.wr_stage_tasks AS src"),
                # one index probe per saved task, not a scan of every timer as a hash or merge join would be
                "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off",
                DELETE_STALE.format(
                    timers=timers, src="pg_temp.wr_stage_tasks AS saved", stale="old.kind <> ALL (saved.kinds)"
                ),
                "SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT",
                UPSERT_TIMERS.format(timers=timers, src="pg_temp.wr_stage_timers AS src"),
            ]
        )
        # the common case, one task's save from one event: one statement, one round trip, one commit
        self._save_one = (
            "WITH rec AS ("
            + UPSERT_TASKS.format(tasks=tasks, src="(SELECT $1::text AS task_id, $2::jsonb AS record) AS src")
            + f"), stale AS (DELETE FROM {timers} AS old WHERE old.task_id = $1 AND old.kind <> ALL ($3::text[])) "
            + UPSERT_TIMERS.format(
                timers=timers,
                src="(SELECT $1::text AS task_id, u.* FROM unnest($3::text[], $4::text[], $5::timestamptz[],"
                " $6::jsonb[]) AS u(kind, ident, due_at, payload)) AS src",
            )
        )
        self._any_exists = f"SELECT EXISTS (SELECT 1 FROM {tasks} WHERE task_id = ANY($1::text[]))"
        self._due_sql = (
            f"SELECT task_id, kind, ident, due_at, payload FROM {timers} WHERE fired_at IS NULL AND due_at <= $1"
            " ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED"
        )

    async def migrate(self) -> None:
        """Create the schema, tables and index if they do not exist (safe to run from many processes at once)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('workrouter.escalation.migrate'))")
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", self.schema):
                await conn.execute(f'CREATE SCHEMA "{self.schema}"')  # only then: it needs CREATE on the database
            await conn.execute(SCHEMA_DDL.format(s=f'"{self.schema}"'))

    async def load(self, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records of the given tasks that exist (task_id -> record), in one query."""
        if not task_ids:
            return {}
        rows = await self._pool.fetch(
            f"SELECT task_id, record FROM {self._tasks} WHERE task_id = ANY($1::text[])", list(task_ids)
        )
        return {row["task_id"]: json.loads(row["record"]) for row in rows}

    async def save(self, task_id: str, record: dict[str, Any] | None, timers: Sequence[Timer]) -> None:
        """In one transaction: replace the task's record and its whole timer set."""
        if record is None:
            await self.save_many([(task_id, record, timers)])
            return
        check(task_id, record, timers)
        await self._pool.execute(
            self._save_one,
            task_id,
            json.dumps(record),
            [t.kind for t in timers],
            [t.ident for t in timers],
            [t.due_at for t in timers],
            [json.dumps(t.payload) if t.payload else "{}" for t in timers],
        )

    async def save_many(self, items: Sequence[Item]) -> None:
        """`save` for many tasks in one transaction, in a few statements per round of distinct tasks."""
        batches = rounds(items)
        if not batches:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            for deleted, kept in batches:
                if deleted:
                    await conn.execute(self._delete_tasks, deleted)
                if sum(1 + len(timers) for _, _, timers in kept) >= COPY_ROWS:
                    await self._copy(conn, kept)
                elif kept:
                    await self._bind(conn, kept)

    async def _bind(self, conn: PoolConnectionProxy[asyncpg.Record], kept: list[Kept]) -> None:
        ids, records = zip(*task_rows(kept, kinds=False), strict=True)
        columns = [list(column) for column in zip(*timer_rows(kept), strict=True)] or [[]] * 5
        await conn.execute(self._upsert_tasks, ids, records)
        await conn.execute(self._delete_stale, ids, columns[0], columns[1])
        if columns[0]:
            await conn.execute(self._upsert_timers, *columns)

    async def _copy(self, conn: PoolConnectionProxy[asyncpg.Record], kept: list[Kept]) -> None:
        if not await conn.fetchval(self._any_exists, [task_id for task_id, _, _ in kept]):
            try:  # all new, so nothing to merge with: straight in (a task saved meanwhile sends us below)
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        "escalation_tasks", schema_name=self.schema, records=task_rows(kept, kinds=False)
                    )
                    await conn.copy_records_to_table(
                        "escalation_timers", schema_name=self.schema, columns=TIMER_COLUMNS, records=timer_rows(kept)
                    )
                return
            except asyncpg.UniqueViolationError:
                pass
        await conn.execute(STAGE_DDL)
        await conn.copy_records_to_table("wr_stage_tasks", schema_name="pg_temp", records=task_rows(kept, kinds=True))
        await conn.copy_records_to_table("wr_stage_timers", schema_name="pg_temp", records=timer_rows(kept))
        await conn.execute(self._apply_staged)

    @asynccontextmanager
    async def firing(self, now: datetime, limit: int) -> AsyncIterator[list[Timer]]:
        """Due pending timers, earliest first, locked (SKIP LOCKED) for the block; marked fired if it ends normally."""
        if now.tzinfo is None:
            raise ValueError("firing needs a timezone-aware `now`")
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(FIRING_SETTINGS)
            rows = await conn.fetch(self._due_sql, now, limit)
            timers = [Timer(r["task_id"], r["kind"], r["ident"], r["due_at"], json.loads(r["payload"])) for r in rows]
            yield timers
            if timers:
                await conn.execute(
                    f"UPDATE {self._timers} AS t SET fired_at = $1"
                    " FROM unnest($2::text[], $3::text[], $4::text[]) AS f(task_id, kind, ident)"
                    " WHERE t.task_id = f.task_id AND t.kind = f.kind AND t.ident = f.ident",
                    now,
                    [t.task_id for t in timers],
                    [t.kind for t in timers],
                    [t.ident for t in timers],
                )

    async def firing_plan(self, now: datetime, limit: int) -> str:
        """EXPLAIN of the query `firing` runs, under the settings it runs with (for operators and benchmarks)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(FIRING_SETTINGS)
            rows = await conn.fetch(f"EXPLAIN {self._due_sql}", now, limit)
        return "\n".join(row[0] for row in rows)

    async def next_due(self) -> datetime | None:
        """The due time of the earliest pending timer, or None."""
        due: datetime | None = await self._pool.fetchval(
            f"SELECT due_at FROM {self._timers} WHERE fired_at IS NULL ORDER BY due_at LIMIT 1"
        )
        return due

    async def counts(self) -> TimerCounts:
        """Pending and fired timers."""
        row = await self._pool.fetchrow(
            f"SELECT count(*) FILTER (WHERE fired_at IS NULL) AS pending,"
            f" count(*) FILTER (WHERE fired_at IS NOT NULL) AS fired FROM {self._timers}"
        )
        assert row is not None
        return TimerCounts(pending=row["pending"], fired=row["fired"])
