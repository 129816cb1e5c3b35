"""A large event log made in SQL (not through the ingest path): many queue visits, for reports that take long."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def fill_visits(pool: asyncpg.Pool, schema: str, tasks: int, start: datetime) -> None:
    """`tasks` tasks, one a second from `start`: each queued in 'finance' and accepted by agent 'a1' 20 s later."""
    await pool.execute(
        f"""
        INSERT INTO {schema}.event_log (event_id, time, type, task_id, agent_id, queue, producer, data)
        SELECT 'q-' || g, $1::timestamptz + g * interval '1 second', 'task.queued', 't-' || g, NULL, 'finance',
               '/load', jsonb_build_object('task_id', 't-' || g, 'queue', 'finance')
        FROM generate_series(1, $2::int) g;
        """,
        start,
        tasks,
    )
    await pool.execute(
        f"""
        INSERT INTO {schema}.event_log (event_id, time, type, task_id, agent_id, queue, producer, data)
        SELECT 'a-' || g, $1::timestamptz + g * interval '1 second' + interval '20 seconds', 'task.accepted',
               't-' || g, 'a1', 'finance', '/load', jsonb_build_object('task_id', 't-' || g, 'agent_id', 'a1')
        FROM generate_series(1, $2::int) g;
        """,
        start,
        tasks,
    )
    await pool.execute(
        f"""
        INSERT INTO {schema}.task_state (task_id, status, source, external_id, type, queue, agent_id, created_at,
                                        queued_at, accepted_at, updated_at)
        SELECT 't-' || g, 'assigned', 'crm', 'x-' || g, 'claim', 'finance', 'a1',
               $1::timestamptz + g * interval '1 second', $1::timestamptz + g * interval '1 second',
               $1::timestamptz + g * interval '1 second' + interval '20 seconds', now()
        FROM generate_series(1, $2::int) g;
        """,
        start,
        tasks,
    )
    await pool.execute(f"ANALYZE {schema}.event_log; ANALYZE {schema}.task_state")
