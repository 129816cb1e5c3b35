"""PostgreSQL implementations of the capture and prioritiser stores."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from workrouter.domain.capture import CaptureRecord

CAPTURE_SCHEMA = """
CREATE TABLE IF NOT EXISTS capture_tasks (
    source       text NOT NULL,
    external_id  text NOT NULL,
    task_id      uuid NOT NULL UNIQUE,
    fingerprint  text NOT NULL,
    facts        jsonb NOT NULL,
    status       text NOT NULL,
    version      integer NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, external_id)
)
"""

FACTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS prioritiser_task_facts (
    task_id      uuid PRIMARY KEY,
    facts        jsonb NOT NULL,
    captured_at  timestamptz NOT NULL
)
"""


async def _migrate(pool: asyncpg.Pool, service: str, ddl: str) -> None:
    """Run `ddl` under the service's migration lock: two sessions' `CREATE TABLE IF NOT EXISTS` at the same
    moment (two instances starting on a fresh database) would otherwise both create, and one fail."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"workrouter.{service}.migrate")
        await conn.execute(ddl)


class PostgresCaptureStore:
    """CaptureStore in table capture_tasks."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def migrate(self) -> None:
        """Create the table if it does not exist (safe to run from many processes at once)."""
        await _migrate(self._pool, "capture", CAPTURE_SCHEMA)

    async def get(self, source: str, external_id: str) -> CaptureRecord | None:
        """The record, or None."""
        row = await self._pool.fetchrow(
            "SELECT task_id, fingerprint, facts, status, version FROM capture_tasks"
            " WHERE source = $1 AND external_id = $2",
            source,
            external_id,
        )
        if row is None:
            return None
        return _capture_record(source, external_id, row)

    async def get_many(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], CaptureRecord]:
        """The known ones among `keys`, in one query."""
        if not keys:
            return {}
        rows = await self._pool.fetch(
            "SELECT c.source, c.external_id, c.task_id, c.fingerprint, c.facts, c.status, c.version"
            " FROM capture_tasks c JOIN unnest($1::text[], $2::text[]) AS k(source, external_id)"
            " ON c.source = k.source AND c.external_id = k.external_id",
            [s for s, _ in keys],
            [e for _, e in keys],
        )
        return {(r["source"], r["external_id"]): _capture_record(r["source"], r["external_id"], r) for r in rows}

    async def put_many(self, records: Sequence[CaptureRecord]) -> None:
        """Insert or replace each (each item once), in one statement."""
        if not records:
            return
        await self._pool.execute(
            """
            INSERT INTO capture_tasks (source, external_id, task_id, fingerprint, facts, status, version)
            SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::jsonb[], $6::text[], $7::int[])
            ON CONFLICT (source, external_id) DO UPDATE SET
                fingerprint = EXCLUDED.fingerprint, facts = EXCLUDED.facts, status = EXCLUDED.status,
                version = EXCLUDED.version, updated_at = now()
            """,
            [r.source for r in records],
            [r.external_id for r in records],
            [r.task_id for r in records],
            [r.fingerprint for r in records],
            [json.dumps(r.facts) for r in records],
            [r.status for r in records],
            [r.version for r in records],
        )

    async def put(self, record: CaptureRecord) -> None:
        """Insert or replace."""
        await self._pool.execute(
            """
            INSERT INTO capture_tasks (source, external_id, task_id, fingerprint, facts, status, version)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
            ON CONFLICT (source, external_id) DO UPDATE SET
                fingerprint = EXCLUDED.fingerprint, facts = EXCLUDED.facts, status = EXCLUDED.status,
                version = EXCLUDED.version, updated_at = now()
            """,
            record.source,
            record.external_id,
            record.task_id,
            record.fingerprint,
            json.dumps(record.facts),
            record.status,
            record.version,
        )


class PostgresTaskFactsStore:
    """TaskFactsStore in table prioritiser_task_facts."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def migrate(self) -> None:
        """Create the table if it does not exist (safe to run from many processes at once)."""
        await _migrate(self._pool, "prioritiser", FACTS_SCHEMA)

    async def get(self, task_id: str) -> tuple[dict[str, Any], datetime] | None:
        """(facts, captured_at), or None."""
        row = await self._pool.fetchrow(
            "SELECT facts, captured_at FROM prioritiser_task_facts WHERE task_id = $1", task_id
        )
        return None if row is None else (json.loads(row["facts"]), row["captured_at"])

    async def put(self, task_id: str, facts: dict[str, Any], captured_at: datetime) -> None:
        """Insert or replace."""
        await self._pool.execute(
            """
            INSERT INTO prioritiser_task_facts (task_id, facts, captured_at) VALUES ($1, $2::jsonb, $3)
            ON CONFLICT (task_id) DO UPDATE SET facts = EXCLUDED.facts
            """,
            task_id,
            json.dumps(facts),
            captured_at,
        )

    async def get_many(self, task_ids: Collection[str]) -> dict[str, tuple[dict[str, Any], datetime]]:
        """The known ones among `task_ids`, in one query (an id that is no UUID is no task's)."""
        rows = await self._pool.fetch(
            "SELECT task_id::text, facts, captured_at FROM prioritiser_task_facts WHERE task_id = ANY($1::uuid[])",
            [t for t in task_ids if _is_uuid(t)],
        )
        return {row["task_id"]: (json.loads(row["facts"]), row["captured_at"]) for row in rows}

    async def put_many(self, items: Sequence[tuple[str, dict[str, Any], datetime]]) -> None:
        """Insert or replace each, in one statement (each task at most once)."""
        if not items:
            return
        await self._pool.execute(
            """
            INSERT INTO prioritiser_task_facts (task_id, facts, captured_at)
            SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[])
            ON CONFLICT (task_id) DO UPDATE SET facts = EXCLUDED.facts
            """,
            [task_id for task_id, _, _ in items],
            [json.dumps(facts) for _, facts, _ in items],
            [captured_at for _, _, captured_at in items],
        )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _capture_record(source: str, external_id: str, row: asyncpg.Record) -> CaptureRecord:
    return CaptureRecord(
        source, external_id, str(row["task_id"]), row["fingerprint"], json.loads(row["facts"]), row["status"],
        row["version"],
    )  # fmt: skip
