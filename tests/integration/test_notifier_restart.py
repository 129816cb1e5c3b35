"""kill -9 of the notifier while it delivers, then a restart: every completion is still acknowledged exactly
once at the source; the only repeats are re-sends of the same key with the same bytes (the source dedupes them)."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.callback_server import CallbackServer
from tests.support.infra import Infra
from tests.support.notifier_world import NotifierWorld, history
from tests.support.wait import wait_until
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope

pytestmark = pytest.mark.timeout(240)
TASKS = 600
IN_FLIGHT = 2 * 8  # two sources, WR_CALLBACK_CONCURRENCY=8


@pytest.fixture
async def world(infra: Infra, fresh_database: str, tmp_path: Path) -> AsyncIterator[NotifierWorld]:
    """Two sources that take 20 ms per callback, so there is always work in flight to cut off."""
    servers = {
        "crm": CallbackServer("crm-secret-0123456789", delay=0.02),
        "bpm": CallbackServer("bpm-secret-0123456789", delay=0.02),
    }
    w = NotifierWorld(infra, fresh_database, tmp_path, servers)
    for server in servers.values():
        server.start()
    await w.open()
    print(f"\nnotifier logs: {tmp_path}")
    try:
        yield w
    finally:
        await w.close()


async def test_every_completion_is_acknowledged_once_across_a_kill(world: NotifierWorld) -> None:
    crm, bpm = world.servers["crm"], world.servers["bpm"]
    histories: list[list[Envelope]] = []
    expected: dict[str, set[str]] = {"crm": set(), "bpm": set()}
    for i in range(TASKS):
        source, task_id = ("crm", "bpm")[i % 2], f"task-{i:04d}"
        events = history(task_id, source, te.TaskCompleted(task_id=task_id, by="agent", agent_id="alice"))
        histories.append(events)
        expected[source].add(events[-1].id)
    proc = world.start_notifier("first")
    await world.publish(histories)

    def acked() -> int:
        return len(crm.first_acks) + len(bpm.first_acks)

    await wait_until(lambda: acked() >= TASKS // 3, timeout=120, what="a third acknowledged")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    at_kill = acked()
    killed = time.monotonic()
    world.start_notifier("second")
    # more than could have been in flight at the kill (8 slots per source): the restarted process delivers
    await wait_until(lambda: acked() > at_kill + IN_FLIGHT, timeout=60, what="the restarted notifier delivering")
    resumed = time.monotonic() - killed
    await wait_until(lambda: crm.acked(expected["crm"]) and bpm.acked(expected["bpm"]), timeout=120, what="all")
    for server, keys in ((crm, expected["crm"]), (bpm, expected["bpm"])):
        assert set(server.first_acks) == keys  # each completion acknowledged, none twice, nothing unknown
        assert server.bad_signatures == []
        assert [k for k, bodies in server.bodies.items() if len(bodies) != 1] == []  # re-sends: the same bytes
    repeats = crm.duplicates.total() + bpm.duplicates.total()
    assert repeats <= IN_FLIGHT  # at most what was in flight at the kill
    print(
        f"\n{TASKS} completions; {at_kill} acknowledged before kill -9; the restarted notifier had delivered "
        f"{IN_FLIGHT} more {resumed:.1f} s after the kill; {repeats} re-sends of an already acknowledged key "
        "(same bytes)"
    )
