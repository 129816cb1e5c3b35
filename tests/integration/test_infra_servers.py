"""The Redis and PostgreSQL the tests get are real servers with the features workrouter relies on."""

from __future__ import annotations

import uuid

import asyncpg
import redis.asyncio as redis

from tests.support.infra import Infra

# The shape of the router's capacity reserve: check and increment in one atomic step.
RESERVE = """
local load = tonumber(redis.call('GET', KEYS[1]) or '0')
if load + 1 > tonumber(ARGV[1]) then return -1 end
return redis.call('INCR', KEYS[1])
"""


async def test_redis_runs_lua_atomically(infra: Infra) -> None:
    client = redis.from_url(infra.redis_url)
    key = f"test:load:{uuid.uuid4().hex}"
    try:
        results = [await client.eval(RESERVE, 1, key, 3) for _ in range(5)]
        info = await client.info("server")
    finally:
        await client.delete(key)
        await client.aclose()
    assert results == [1, 2, 3, -1, -1]
    assert int(str(info["redis_version"]).split(".")[0]) >= 6


async def test_postgres_accepts_asyncpg_and_copy(infra: Infra) -> None:
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute("CREATE TEMP TABLE probe (id text PRIMARY KEY, n int)")
        await conn.copy_records_to_table("probe", records=[(f"e{i}", i) for i in range(100)])
        total = await conn.fetchval("SELECT sum(n) FROM probe")
        version = await conn.fetchval("SHOW server_version_num")
    finally:
        await conn.close()
    assert total == sum(range(100))
    assert int(version) >= 150000
