"""The timer loop on real PostgreSQL with the wall clock: every timer fires once, none early, a failure is retried."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.support.infra import Infra
from tests.support.wait import paced, wait_until
from workrouter.adapters.postgres.escalation_store import PostgresEscalationStore
from workrouter.contracts.envelope import utcnow
from workrouter.domain.escalation.timer import Timer
from workrouter.ports.timers import TimerCounts
from workrouter.services.escalation.timer_loop import TimerLoop


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[PostgresEscalationStore]:
    """A migrated store in a schema of its own, dropped afterwards."""
    schema = f"wr_test_{uuid.uuid4().hex[:12]}"
    async with asyncpg.create_pool(infra.database_url, min_size=1, max_size=4) as pool:
        store = PostgresEscalationStore(pool, schema=schema)
        await store.migrate()
        try:
            yield store
        finally:
            await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def test_every_timer_fires_once_never_early_and_a_failed_batch_is_retried(
    store: PostgresEscalationStore,
) -> None:
    fired: dict[str, list[datetime]] = {}
    failures = 1

    async def fire(timers: list[Timer]) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("kafka unreachable")
        now = utcnow()
        for t in timers:
            assert t.due_at <= now, f"{t.task_id} fired {(t.due_at - now).total_seconds():.3f}s early"
            fired.setdefault(t.task_id, []).append(now)

    start = utcnow()
    await store.save_many(
        [(f"a{i}", {"n": i}, [Timer(f"a{i}", "sla", "v1", start + timedelta(seconds=i / 200))]) for i in range(400)]
    )
    loop = TimerLoop(store, fire, clock=utcnow, batch=50, max_sleep_seconds=5)
    task = asyncio.create_task(loop.run())
    try:
        async for i in paced(100, per_second=100):  # saved while the loop runs, each due soon: the poke must wake it
            due = utcnow() + timedelta(milliseconds=50)
            await store.save(f"b{i}", {"n": i}, [Timer(f"b{i}", "expiry", "v1", due)])
            loop.poke(due)
        await wait_until(lambda: len(fired) == 500, timeout=30, what="500 timers fired")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [task_id for task_id, times in fired.items() if len(times) != 1] == []
    assert await store.counts() == TimerCounts(pending=0, fired=500)
    assert failures == 0
