"""Several instances of a service start at once on a fresh database: each migrates its tables, and none may fail.

Two sessions running the same `CREATE TABLE IF NOT EXISTS` at once can both find the table missing, and the
second then fails on PostgreSQL's catalogue (duplicate key in pg_type_typname_nsp_index): the end-to-end
benchmark with two reporting processes saw exactly that. The notifier's and escalation's stores were already
safe (tests in their own files); these are the event log's and capture's and the prioritiser's.
"""

from __future__ import annotations

import asyncio

import asyncpg

from tests.support.infra import Infra
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.stores import PostgresCaptureStore, PostgresTaskFactsStore

AT_ONCE = 6


async def test_the_event_log_migrates_from_many_processes_at_once(infra: Infra, fresh_schema: str) -> None:
    pools = [await asyncpg.create_pool(infra.database_url, min_size=1, max_size=1) for _ in range(AT_ONCE)]
    try:
        await asyncio.gather(*(EventLog(pool, schema=fresh_schema).migrate() for pool in pools))
        assert await pools[0].fetchval(f"SELECT count(*) FROM {fresh_schema}.event_log") == 0
    finally:
        await asyncio.gather(*(pool.close() for pool in pools))


async def test_capture_and_prioritiser_stores_migrate_from_many_processes_at_once(fresh_database: str) -> None:
    pools = [await asyncpg.create_pool(fresh_database, min_size=1, max_size=1) for _ in range(AT_ONCE)]
    try:
        await asyncio.gather(*(PostgresCaptureStore(pool).migrate() for pool in pools))
        await asyncio.gather(*(PostgresTaskFactsStore(pool).migrate() for pool in pools))
        assert await pools[0].fetchval("SELECT count(*) FROM capture_tasks") == 0
        assert await pools[0].fetchval("SELECT count(*) FROM prioritiser_task_facts") == 0
    finally:
        await asyncio.gather(*(pool.close() for pool in pools))
