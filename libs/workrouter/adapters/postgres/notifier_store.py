"""PostgreSQL implementation of the notifier's store: task views and the callback outbox.

Due callbacks are found per source through a partial index on (source, next_attempt_at) over pending
rows only. A claim moves `next_attempt_at` to the end of its lease and sets a fresh claim token, in
one statement (FOR UPDATE SKIP LOCKED): rows one sender holds are invisible to the others until the
lease ends, and an outcome is written only under the token it was claimed with.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from workrouter.domain.notify.callback import NewCallback
from workrouter.ports.callbacks import CallbackRow, Claimed, Step

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCHEMA_DDL = """
CREATE TABLE IF NOT EXISTS {s}.notifier_tasks (
    task_id text PRIMARY KEY, view jsonb NOT NULL, closed_at timestamptz NULL, updated_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS notifier_tasks_closed ON {s}.notifier_tasks (closed_at) WHERE closed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS {s}.notifier_callbacks (
    id text PRIMARY KEY, source text NOT NULL, task_id text NOT NULL, event text NOT NULL, body bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0, next_attempt_at timestamptz NOT NULL, claim text NULL,
    last_error text NULL, last_status integer NULL, replays integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL, delivered_at timestamptz NULL, dead_at timestamptz NULL,
    updated_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS notifier_callbacks_due
    ON {s}.notifier_callbacks (source, next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS notifier_callbacks_dead ON {s}.notifier_callbacks (source, dead_at) WHERE status = 'dead';
CREATE INDEX IF NOT EXISTS notifier_callbacks_delivered
    ON {s}.notifier_callbacks (delivered_at) WHERE status = 'delivered';
"""
ROW_COLUMNS = "id, source, task_id, event, status, attempts, last_error, last_status, created_at, dead_at"


def _row(r: asyncpg.Record) -> CallbackRow:
    return CallbackRow(
        r["id"],
        r["source"],
        r["task_id"],
        r["event"],
        r["status"],
        r["attempts"],
        r["last_error"],
        r["last_status"],
        r["created_at"],
        r["dead_at"],
    )


class PostgresCallbackStore:
    """CallbackStore in tables notifier_tasks and notifier_callbacks of one PostgreSQL schema."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str = "public") -> None:
        if not _IDENTIFIER.fullmatch(schema):
            raise ValueError(f"schema {schema!r} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)")
        self._pool = pool
        self.schema = schema
        self._tasks = f'"{schema}".notifier_tasks'
        self._cb = cb = f'"{schema}".notifier_callbacks'
        self._insert = (
            f"INSERT INTO {cb} (id, source, task_id, event, body, next_attempt_at, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $6, $6) ON CONFLICT (id) DO NOTHING RETURNING true"
        )
        self._insert_many = (
            f"INSERT INTO {cb} (id, source, task_id, event, body, next_attempt_at, created_at, updated_at)"
            " SELECT u.id, u.source, u.task_id, u.event, u.body, $6, $6, $6"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])"
            " AS u(id, source, task_id, event, body)"
            " ON CONFLICT (id) DO NOTHING RETURNING id"
        )
        self._upsert = (
            f"INSERT INTO {self._tasks} AS t (task_id, view, closed_at, updated_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (task_id) DO UPDATE SET view = EXCLUDED.view, updated_at = EXCLUDED.updated_at,"
            " closed_at = COALESCE(t.closed_at, EXCLUDED.closed_at)"
        )
        self._claim = (
            f"WITH due AS (SELECT id FROM {cb} WHERE status = 'pending' AND source = $1 AND next_attempt_at <= $2"
            " ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)"
            f" UPDATE {cb} AS c SET attempts = c.attempts + 1, next_attempt_at = $4, claim = $5, updated_at = $2"
            " FROM due WHERE c.id = due.id RETURNING c.id, c.source, c.task_id, c.event, c.body, c.attempts"
        )

    async def migrate(self) -> None:
        """Create the schema, tables and indexes if they do not exist (safe to run from many processes at once)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('workrouter.notifier.migrate'))")
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", self.schema):
                await conn.execute(f'CREATE SCHEMA "{self.schema}"')
            await conn.execute(SCHEMA_DDL.format(s=f'"{self.schema}"'))

    async def apply(self, task_id: str, step: Step, now: datetime) -> NewCallback | None:
        """Fold under the task's row lock; save the view and insert the callback in the same transaction."""
        inserted = await self.apply_many([(task_id, step)], now)
        return inserted[0] if inserted else None

    async def apply_many(self, steps: Sequence[tuple[str, Step]], now: datetime) -> list[NewCallback]:
        """Fold every step in order over views read once (rows locked in task order), then write each changed
        view once and insert the callbacks in one statement: one transaction for a whole poll of events."""
        if not steps:
            return []
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT task_id, view FROM {self._tasks} WHERE task_id = ANY($1::text[]) ORDER BY task_id FOR UPDATE",
                sorted({task_id for task_id, _ in steps}),
            )
            views: dict[str, Any] = {r["task_id"]: json.loads(r["view"]) for r in rows}
            closed: dict[str, bool] = {}  # changed views -> whether a step closed the task
            callbacks: dict[str, NewCallback] = {}
            for task_id, step in steps:
                change = step(views.get(task_id))
                if change.view is not None:
                    views[task_id] = change.view
                    closed[task_id] = closed.get(task_id, False) or change.closed
                if change.callback is not None:
                    callbacks.setdefault(change.callback.id, change.callback)
            if closed:
                await conn.executemany(
                    self._upsert, [(t, json.dumps(views[t]), now if c else None, now) for t, c in closed.items()]
                )
            if not callbacks:
                return []
            new = list(callbacks.values())
            inserted = await conn.fetch(
                self._insert_many,
                [c.id for c in new],
                [c.source for c in new],
                [c.task_id for c in new],
                [c.event for c in new],
                [c.body for c in new],
                now,
            )
            ids = {r["id"] for r in inserted}
            return [c for c in new if c.id in ids]

    async def enqueue(self, callback: NewCallback, now: datetime) -> bool:
        """Insert a callback due now unless its id exists."""
        inserted = await self._pool.fetchval(
            self._insert, callback.id, callback.source, callback.task_id, callback.event, callback.body, now
        )
        return bool(inserted)

    async def claim(self, source: str, now: datetime, limit: int, lease_seconds: float) -> list[Claimed]:
        """Lease up to `limit` due callbacks of `source` (SKIP LOCKED: never one another sender holds)."""
        if limit < 1:
            return []
        token = uuid.uuid4().hex
        rows = await self._pool.fetch(self._claim, source, now, limit, now + timedelta(seconds=lease_seconds), token)
        return [
            Claimed(r["id"], r["source"], r["task_id"], r["event"], bytes(r["body"]), r["attempts"], token)
            for r in rows
        ]

    async def delivered(self, claimed: Claimed, now: datetime, status: int) -> bool:
        """Mark delivered under the claim token."""
        done = await self._pool.fetchval(
            f"UPDATE {self._cb} SET status = 'delivered', delivered_at = $3, last_status = $4, claim = NULL,"
            " updated_at = $3 WHERE id = $1 AND claim = $2 AND status = 'pending' RETURNING true",
            claimed.id,
            claimed.claim,
            now,
            status,
        )
        return bool(done)

    async def failed(
        self, claimed: Claimed, now: datetime, error: str, status: int | None, retry_at: datetime | None
    ) -> bool:
        """Pending again at `retry_at`, or dead when it is None; under the claim token."""
        done = await self._pool.fetchval(
            f"UPDATE {self._cb} SET last_error = $3, last_status = $4, claim = NULL, updated_at = $5,"
            " status = CASE WHEN $6::timestamptz IS NULL THEN 'dead' ELSE 'pending' END,"
            " dead_at = CASE WHEN $6::timestamptz IS NULL THEN $5::timestamptz END,"
            " next_attempt_at = COALESCE($6::timestamptz, next_attempt_at)"
            " WHERE id = $1 AND claim = $2 AND status = 'pending' RETURNING true",
            claimed.id,
            claimed.claim,
            error[:2000],
            status,
            now,
            retry_at,
        )
        return bool(done)

    async def next_due(self, source: str) -> datetime | None:
        """The earliest next_attempt_at of the source's pending callbacks."""
        due: datetime | None = await self._pool.fetchval(
            f"SELECT next_attempt_at FROM {self._cb} WHERE status = 'pending' AND source = $1"
            " ORDER BY next_attempt_at LIMIT 1",
            source,
        )
        return due

    async def dead(self, source: str | None = None, limit: int = 1000) -> list[CallbackRow]:
        """Dead callbacks, oldest death first."""
        rows = await self._pool.fetch(
            f"SELECT {ROW_COLUMNS} FROM {self._cb} WHERE status = 'dead' AND ($1::text IS NULL OR source = $1)"
            " ORDER BY dead_at, id LIMIT $2",
            source,
            limit,
        )
        return [_row(r) for r in rows]

    async def replay(self, now: datetime, ids: Sequence[str] = (), source: str | None = None) -> list[CallbackRow]:
        """Dead callbacks pending again now with attempts reset; returned as they were (their last error is kept)."""
        rows = await self._pool.fetch(
            f"WITH old AS (SELECT {ROW_COLUMNS} FROM {self._cb} WHERE status = 'dead'"
            " AND (cardinality($2::text[]) = 0 OR id = ANY($2::text[])) AND ($3::text IS NULL OR source = $3)"
            " FOR UPDATE),"
            f" revived AS (UPDATE {self._cb} AS c SET status = 'pending', attempts = 0, next_attempt_at = $1,"
            " dead_at = NULL, claim = NULL, replays = c.replays + 1, updated_at = $1 FROM old WHERE c.id = old.id)"
            " SELECT * FROM old",
            now,
            list(ids),
            source,
        )
        return sorted((_row(r) for r in rows), key=lambda r: (r.created_at, r.id))

    async def bury_unknown(self, known: Sequence[str], now: datetime) -> int:
        """Pending callbacks of sources without a callback target become dead, saying why."""
        rows = await self._pool.fetch(
            f"UPDATE {self._cb} SET status = 'dead', dead_at = $2, claim = NULL, updated_at = $2,"
            " last_error = 'source ' || source || ' has no callback_url in sources.yaml;"
            " register it again, restart the notifier, then replay'"
            " WHERE status = 'pending' AND source <> ALL($1::text[]) RETURNING id",
            list(known),
            now,
        )
        return len(rows)

    async def counts(self) -> dict[tuple[str, str], int]:
        """Pending and dead callbacks by (source, status)."""
        rows = await self._pool.fetch(
            f"SELECT source, status, count(*) AS n FROM {self._cb} WHERE status IN ('pending', 'dead')"
            " GROUP BY source, status"
        )
        return {(r["source"], r["status"]): r["n"] for r in rows}

    async def purge(self, before: datetime) -> int:
        """Delete delivered callbacks and ended tasks' views older than `before`."""
        async with self._pool.acquire() as conn, conn.transaction():
            gone = await conn.execute(
                f"DELETE FROM {self._cb} WHERE status = 'delivered' AND delivered_at < $1", before
            )
            await conn.execute(f"DELETE FROM {self._tasks} WHERE closed_at < $1", before)
        return int(gone.split()[-1])
