"""The event log stores each event once and folds it once, however batches come again (real PostgreSQL).

`EventLog.write` COPYs a batch straight into the log and, only when the unique event id refuses it,
looks up which events were there and stores the rest: these tests take that second path through a
redelivered batch, a batch that overlaps a stored one, two writers of the same batch at once, and a
batch that repeats an id. A batch larger than one COPY part keeps its order in `seq`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest_asyncio

from tests.support.infra import Infra
from workrouter.adapters.postgres import event_log as event_log_module
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.contracts import task_events as te
from workrouter.contracts.agent_events import AgentPresenceChanged
from workrouter.contracts.envelope import Envelope, Payload, make_event

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Batch = list[tuple[Envelope, None]]


def life(task: str, start: int) -> list[Envelope]:
    """One task's five events, a second apart from `start` seconds after T0."""
    payloads: list[Payload] = [
        te.TaskQueued(task_id=task, queue="q", domain="d", priority=1, sort_key="k"),
        te.TaskOffered(
            task_id=task,
            offer_id=f"{task}-o",
            agent_id="a",
            queue="q",
            tier=0,
            offer_expires_at=T0 + timedelta(hours=1),
        ),
        te.TaskAccepted(task_id=task, agent_id="a", queue="q"),
        te.TaskWrapUpStarted(task_id=task, agent_id="a", wrap_up_code="done", after_work_seconds=0),
        te.TaskCompleted(task_id=task, by="agent", agent_id="a", wrap_up_code="done"),
    ]
    return [
        make_event(p, source="/test", key=task, time=T0 + timedelta(seconds=start + i)) for i, p in enumerate(payloads)
    ]


def batch(events: list[Envelope]) -> Batch:
    return [(e, None) for e in events]


@pytest_asyncio.fixture
async def log(infra: Infra, fresh_schema: str) -> AsyncIterator[EventLog]:
    async with asyncpg.create_pool(infra.database_url, min_size=2, max_size=4) as pool:
        event_log = EventLog(pool, schema=fresh_schema)
        await event_log.migrate()
        yield event_log


async def stored(log: EventLog) -> tuple[int, dict[str, int]]:
    """(events in the log, events folded per task)."""
    count = await log.pool.fetchval(f"SELECT count(*) FROM {log.schema}.event_log")
    folded = await log.pool.fetch(f"SELECT task_id, events FROM {log.schema}.task_state")
    return int(count), {r["task_id"]: r["events"] for r in folded}


async def test_a_redelivered_batch_changes_nothing(log: EventLog) -> None:
    events = life("t1", 0) + life("t2", 10)
    assert await log.write(batch(events)) == 10
    assert await log.write(batch(events)) == 0
    assert await stored(log) == (10, {"t1": 5, "t2": 5})
    (row,) = await log.tasks(status="completed", queue="q", agent_id="a", limit=1)
    assert row.offers == 1


async def test_a_batch_overlapping_a_stored_one_stores_and_folds_only_the_new_events(log: EventLog) -> None:
    t1 = life("t1", 0)
    assert await log.write(batch(t1[:2])) == 2
    assert await log.write(batch(t1 + life("t2", 10))) == 8
    assert await stored(log) == (10, {"t1": 5, "t2": 5})
    (t1_row,) = [r for r in await log.tasks(limit=10) if r.task_id == "t1"]
    assert (t1_row.status, t1_row.offers, t1_row.wrap_up_code) == ("completed", 1, "done")


async def test_two_writers_of_one_batch_store_it_once(log: EventLog) -> None:
    events = [e for n in range(40) for e in life(f"t{n}", n * 10)]
    results = await asyncio.gather(*(log.write(batch(events)) for _ in range(3)))
    assert sum(results) == len(events)
    count, folded = await stored(log)
    assert count == len(events)
    assert set(folded.values()) == {5}


async def test_an_id_repeated_in_a_batch_is_one_event(log: EventLog) -> None:
    presence = make_event(AgentPresenceChanged(agent_id="a", domain="d", presence="ready"), source="/t", key="d")
    t1 = life("t1", 0)
    assert await log.write(batch([presence, *t1, presence, t1[0]])) == 6
    assert await stored(log) == (6, {"t1": 5})


async def test_a_batch_of_several_copy_parts_keeps_its_order_in_seq(log: EventLog) -> None:
    # the same task's events spread over every part: the last event of each task comes last in seq
    tasks = event_log_module.COPY_PART // 2
    lives = [life(f"t{n}", n) for n in range(tasks)]
    events = [lives[n][i] for i in range(5) for n in range(tasks)]
    assert len(events) > 2 * event_log_module.COPY_PART
    assert await log.write(batch(events)) == len(events)
    ids = [r["event_id"] for r in await log.pool.fetch(f"SELECT event_id FROM {log.schema}.event_log ORDER BY seq")]
    assert ids == [e.id for e in events]
