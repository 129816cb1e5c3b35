"""Benchmark: the reports app's task reads (list, detail, history) over a large event log, on a real PostgreSQL.

The log is made in SQL (not through the ingest path, which bench_event_log times): --tasks tasks of six
work types from three sources in six queues, about 6.5 events each (captured with attributes, classified,
queued, offered, accepted, wrap-up, completed; every tenth one also RONA'd, every fifth still open with 4,
every twentieth escalated), their task_state rows alike, and one task (t-1) with 20,000 more offers.
Then --reads random tasks' detail and history (GET /v1/tasks/{id}, /history) and a few task-list queries go
through the app on one event loop (httpx's ASGI transport: no network); p50/p99/max are printed with the
plans of the detail and history queries.
Usage: python -m tests.bench.bench_task_reads [--tasks 155000] [--reads 1000] [--keep]
Everything lives in the PostgreSQL schema `wr_bench_task_reads` (dropped first, and at the end unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime

import asyncpg
import httpx

from tests.support.infra import resolve
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.config.sources import hash_api_key
from workrouter.services.reporting.access import ReportsAccess
from workrouter.services.reporting.http import create_app

SCHEMA = "wr_bench_task_reads"
START = datetime(2026, 1, 5, tzinfo=UTC)
KEY = "bench-task-reads-key"
HOT_EVENTS = 20_000  # t-1 was offered this many more times: a long history
LISTS = (
    "limit=100",
    "open=true&queue=q3&limit=100",
    "type=t2&source=s2&order=created&limit=100",
    "escalated=true&order=due&limit=100",
    "error_held=false&agent=agent-007&open=true",
    "status=completed&limit=1000",
)
EVENTS = """
INSERT INTO {s}.event_log (event_id, time, type, task_id, agent_id, queue, producer, data)
SELECT 'e-' || g || '-' || k, $1::timestamptz + g * interval '3 seconds' + k * interval '40 seconds',
       'task.' || (ARRAY['captured','classified','queued','offered','accepted','wrap_up_started','completed',
                         'offer_revoked'])[k],
       't-' || g, CASE WHEN k IN (4, 5, 6, 7) THEN 'agent-' || lpad((g % 300)::text, 3, '0') END,
       CASE WHEN k IN (2, 3, 4, 5) THEN 'q' || (g % 6) END, '/bench',
       jsonb_build_object('task_id', 't-' || g, 'source', 's' || (g % 3), 'type', 't' || (g % 6),
           'external_id', 'x-' || g, 'title', 'work item ' || g, 'queue', 'q' || (g % 6), 'priority', 500,
           'agent_id', 'agent-' || lpad((g % 300)::text, 3, '0'), 'tier', 0, 'reason', 'rona', 'how', 'offer',
           'wrap_up_code', 'processed', 'by', 'agent', 'rule', 'r1', 'business_value', 5,
           'attributes', jsonb_build_object('customer', 'c-' || (g % 997), 'amount', g % 5000, 'notes',
                                            repeat('x', 200)))
FROM generate_series(1, $2::int) g, generate_series(1, 8) k
WHERE (k < 8 OR g % 10 = 1) AND (k < 5 OR k = 8 OR g % 5 <> 0);
"""
HOT = """
INSERT INTO {s}.event_log (event_id, time, type, task_id, agent_id, queue, producer, data)
SELECT 'hot-' || g, $1::timestamptz + g * interval '1 second', 'task.offered', 't-1', 'agent-001', 'q1', '/bench',
       jsonb_build_object('task_id', 't-1', 'agent_id', 'agent-001', 'queue', 'q1', 'tier', 0)
FROM generate_series(1, $2::int) g;
"""
ROWS = """
INSERT INTO {s}.task_state (task_id, status, source, external_id, type, title, queue, domain, priority, agent_id,
                            created_at, queued_at, accepted_at, closed_at, due_at, offers, escalations, updated_at,
                            events)
SELECT 't-' || g, CASE WHEN g % 5 = 0 THEN 'assigned' ELSE 'completed' END, 's' || (g % 3), 'x-' || g,
       't' || (g % 6), 'work item ' || g, 'q' || (g % 6), 'backoffice', 500,
       'agent-' || lpad((g % 300)::text, 3, '0'), $1::timestamptz + g * interval '3 seconds',
       $1::timestamptz + g * interval '3 seconds', $1::timestamptz + g * interval '3 seconds',
       CASE WHEN g % 5 <> 0 THEN $1::timestamptz + g * interval '3 seconds' + interval '5 minutes' END,
       $1::timestamptz + g * interval '3 seconds' + interval '1 day', 1 + (g % 10 = 1)::int,
       (g % 20 = 0)::int, $1::timestamptz + g * interval '3 seconds' + interval '5 minutes',
       CASE WHEN g % 5 = 0 THEN 4 ELSE 7 END + (g % 10 = 1)::int
FROM generate_series(1, $2::int) g;
"""


async def fill(pool: asyncpg.Pool, tasks: int) -> int:
    """The log and the task rows; how many events."""
    await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await EventLog(pool, schema=SCHEMA).migrate()
    await pool.execute(EVENTS.format(s=SCHEMA), START, tasks)
    await pool.execute(HOT.format(s=SCHEMA), START, HOT_EVENTS)
    await pool.execute(ROWS.format(s=SCHEMA), START, tasks)
    for table in ("event_log", "task_state"):
        await pool.execute(f"VACUUM ANALYZE {SCHEMA}.{table}")
    return int(await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.event_log"))


def figures(name: str, seconds: list[float]) -> str:
    """p50, p99 and max in ms."""
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{name:<48} n={len(ms):>5}  p50 {statistics.median(ms):7.2f} ms  p99 {p99:7.2f} ms  max {ms[-1]:7.2f} ms"


async def timed(http: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await http.get(path)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


async def plans(pool: asyncpg.Pool) -> None:
    """The plans of a detail's and a history's queries (index probes, whatever the size)."""
    for sql in (
        f"SELECT * FROM {SCHEMA}.task_state WHERE task_id = 't-777'",
        f"SELECT seq FROM {SCHEMA}.event_log WHERE task_id = 't-777' "
        "AND type = ANY(ARRAY['task.captured','task.updated','task.classified','task.error_held']) ORDER BY seq",
        f"SELECT seq FROM {SCHEMA}.event_log WHERE task_id = 't-777' AND seq > 0 ORDER BY seq LIMIT 501",
    ):
        rows = await pool.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {sql}")
        print("\n".join(r[0] for r in rows[:4]))


async def run(tasks: int, reads: int, keep: bool) -> None:
    pool = await asyncpg.create_pool(resolve().database_url, min_size=1, max_size=10)
    try:
        started = time.perf_counter()
        events = await fill(pool, tasks)
        size = await pool.fetchval(f"SELECT pg_size_pretty(pg_total_relation_size('{SCHEMA}.event_log'))")
        made = time.perf_counter() - started
        print(f"log: {events:,} events of {tasks:,} tasks ({size} with indexes), made in {made:.1f} s")
        app = create_app(EventLog(pool, schema=SCHEMA), access=ReportsAccess(key_sha256=hash_api_key(KEY)))
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://reports", headers=headers) as http:
            ids = [f"t-{random.randint(1, tasks)}" for _ in range(reads)]
            for path in (f"/v1/tasks/{ids[0]}", f"/v1/tasks/{ids[0]}/history"):
                await timed(http, path)  # warm the pool's statements once
            print(figures("GET /v1/tasks/{id}", [await timed(http, f"/v1/tasks/{i}") for i in ids]))
            print(figures("GET /v1/tasks/{id}/history", [await timed(http, f"/v1/tasks/{i}/history") for i in ids]))
            for path in ("/v1/tasks/t-1", "/v1/tasks/t-1/history", "/v1/tasks/t-1/history?after=15000&limit=1000"):
                print(figures(f"GET {path} ({HOT_EVENTS:,} events)", [await timed(http, path) for _ in range(20)]))
            for query in LISTS:
                print(figures(f"GET /v1/tasks?{query}", [await timed(http, f"/v1/tasks?{query}") for _ in range(10)]))
        await plans(pool)
    finally:
        if not keep:
            await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await pool.close()


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=155_000, help="tasks in the log (about 8 events each)")
    parser.add_argument("--reads", type=int, default=1000, help="random tasks whose detail and history are read")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args()
    asyncio.run(run(args.tasks, args.reads, args.keep))


if __name__ == "__main__":
    main()
