"""A source that hangs holds only its own slots: another source's callbacks go out meanwhile, all of them.
The notifier is its own process on real Kafka and PostgreSQL; both sources are real HTTP servers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.callback_server import CallbackServer
from tests.support.infra import Infra
from tests.support.notifier_world import NotifierWorld, history
from tests.support.wait import wait_until
from workrouter.contracts import task_events as te

pytestmark = pytest.mark.timeout(180)
CONCURRENCY = 4


@pytest.fixture
async def world(infra: Infra, fresh_database: str, tmp_path: Path) -> AsyncIterator[NotifierWorld]:
    """`crm` holds every request until the test releases it; `bpm` answers at once."""
    servers = {
        "crm": CallbackServer("crm-secret-0123456789", lambda _key, _nth: "hold"),
        "bpm": CallbackServer("bpm-secret-0123456789"),
    }
    w = NotifierWorld(infra, fresh_database, tmp_path, servers)
    for server in servers.values():
        server.start()
    await w.open()
    try:
        yield w
    finally:
        await w.close()


def completions(prefix: str, source: str, count: int) -> tuple[list[list], set[str]]:  # type: ignore[type-arg]
    """`count` captured-then-completed tasks of a source, and their completions' keys."""
    histories = [
        history(f"{prefix}-{i}", source, te.TaskCompleted(task_id=f"{prefix}-{i}", by="source")) for i in range(count)
    ]
    return histories, {h[-1].id for h in histories}


async def test_a_hung_source_does_not_delay_another_sources_callbacks(world: NotifierWorld) -> None:
    crm, bpm = world.servers["crm"], world.servers["bpm"]
    slow, slow_keys = completions("slow", "crm", 40)
    fast, fast_keys = completions("fast", "bpm", 200)
    # a long timeout: crm's requests stay hung for the whole test instead of failing and coming back
    world.start_notifier(WR_CALLBACK_TIMEOUT_SECONDS="60", WR_CALLBACK_CONCURRENCY=str(CONCURRENCY))
    await world.publish(slow)  # crm's callbacks are enqueued first
    await wait_until(lambda: crm.hanging == CONCURRENCY, timeout=60, what="crm to hold its slots")
    started = time.monotonic()
    await world.publish(fast)
    await wait_until(lambda: bpm.acked(fast_keys), timeout=60, what="every bpm callback while crm hangs")
    fast_took = time.monotonic() - started
    assert crm.first_acks == {}  # nothing of crm's got through: it really was hung all along
    assert crm.hanging == CONCURRENCY  # and it never held more than its own slots
    assert crm.requests.total() == CONCURRENCY
    crm.release()
    await wait_until(lambda: crm.acked(slow_keys), timeout=60, what="crm's callbacks once it answers")
    assert set(crm.first_acks) == slow_keys
    assert set(bpm.first_acks) == fast_keys
    assert crm.bad_signatures == bpm.bad_signatures == []
    assert crm.duplicates.total() == bpm.duplicates.total() == 0
    print(
        f"\n200 bpm callbacks delivered in {fast_took:.2f} s (publish to last acknowledgement) while crm held "
        f"{CONCURRENCY} requests open; crm's 40 then delivered once each"
    )
