"""The timer loop on the in-memory store with a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta

import pytest

from tests.contracts.escalation_store_contract import T0, at, record, timer
from tests.support.wait import wait_until
from workrouter.adapters.memory_escalation_store import MemoryEscalationStore
from workrouter.domain.escalation.timer import Timer
from workrouter.ports.timers import TimerCounts
from workrouter.services.escalation.timer_loop import TimerLoop


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self.now += timedelta(seconds=seconds)


class Fired:
    """A `fire` callback that records batches; it raises while `failing` is above zero (and counts it down)."""

    def __init__(self, failing: int = 0) -> None:
        self.batches: list[list[Timer]] = []
        self.calls = 0
        self.failing = failing

    async def __call__(self, timers: list[Timer]) -> None:
        self.calls += 1
        if self.failing > 0:
            self.failing -= 1
            raise ConnectionError("kafka unreachable")
        self.batches.append(timers)

    def ids(self) -> list[str]:
        """Task ids fired, in order."""
        return [t.task_id for batch in self.batches for t in batch]

    def are(self, ids: list[str]) -> Callable[[], bool]:
        """A predicate: exactly `ids` fired, in this order."""
        return lambda: self.ids() == ids


class FlakyStore(MemoryEscalationStore):
    """A memory store whose `firing` fails `failing` times first; `after_next_due` runs after each next_due."""

    def __init__(self, failing: int = 0) -> None:
        super().__init__()
        self.failing = failing
        self.next_due_calls = 0
        self.after_next_due: Callable[[], Awaitable[None]] | None = None

    def firing(self, now: datetime, limit: int) -> AbstractAsyncContextManager[list[Timer]]:
        if self.failing > 0:
            self.failing -= 1
            raise ConnectionError("database unreachable")
        return super().firing(now, limit)

    async def next_due(self) -> datetime | None:
        due = await super().next_due()
        self.next_due_calls += 1
        if self.after_next_due is not None:
            hook, self.after_next_due = self.after_next_due, None
            await hook()
        return due


@asynccontextmanager
async def running(loop: TimerLoop) -> AsyncIterator[asyncio.Task[None]]:
    """`loop.run()` as a task, cancelled at the end."""
    task = asyncio.create_task(loop.run())
    try:
        yield task
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert task.cancelled()


async def save_due(store: MemoryEscalationStore, task_id: str, due: float) -> None:
    """One task with one sla timer due `due` seconds after T0."""
    await store.save(task_id, record(), [timer(task_id, "sla", "v1", due)])


async def test_run_once_fires_everything_due_batch_by_batch() -> None:
    store, clock, fired = MemoryEscalationStore(), Clock(), Fired()
    await store.save_many([(f"t{i:04d}", record(), [timer(f"t{i:04d}", "sla", "v1", i)]) for i in range(1300)])
    clock.advance(1233)
    assert await TimerLoop(store, fired, clock=clock, batch=500).run_once() == 1234
    assert [len(b) for b in fired.batches] == [500, 500, 234]
    assert fired.ids() == [f"t{i:04d}" for i in range(1234)]
    assert await store.counts() == TimerCounts(pending=66, fired=1234)


async def test_a_failing_fire_leaves_its_batch_pending() -> None:
    store, clock, fired = MemoryEscalationStore(), Clock(), Fired(failing=1)
    await save_due(store, "t1", 0)
    with pytest.raises(ConnectionError):
        await TimerLoop(store, fired, clock=clock).run_once()
    assert await store.counts() == TimerCounts(pending=1, fired=0)


async def test_the_loop_fires_as_the_clock_reaches_each_due_time() -> None:
    store, clock, fired = MemoryEscalationStore(), Clock(), Fired()
    for i in range(3):
        await save_due(store, f"t{i}", 60 * (i + 1))
    loop = TimerLoop(store, fired, clock=clock, max_sleep_seconds=0.02)
    async with running(loop):
        for expected in (["t0"], ["t0", "t1"], ["t0", "t1", "t2"]):
            clock.advance(60)
            await wait_until(fired.are(expected), timeout=5, what=f"{expected[-1]} fired")
    assert fired.ids() == ["t0", "t1", "t2"]


async def test_a_poke_for_an_earlier_timer_wakes_the_sleeping_loop() -> None:
    store, clock, fired = MemoryEscalationStore(), Clock(), Fired()
    loop = TimerLoop(store, fired, clock=clock, max_sleep_seconds=60)
    async with running(loop):
        await wait_until(lambda: loop.planned_wake == at(60), timeout=5, what="the loop asleep for 60 s")
        await save_due(store, "t1", 0)
        loop.poke(at(0))
        await wait_until(lambda: fired.ids() == ["t1"], timeout=5, what="the poked timer fired")


async def test_a_poke_for_a_later_timer_lets_the_loop_sleep() -> None:
    store, clock, fired = FlakyStore(), Clock(), Fired()
    loop = TimerLoop(store, fired, clock=clock, max_sleep_seconds=60)
    async with running(loop):
        await wait_until(lambda: loop.planned_wake is not None, timeout=5, what="the loop asleep")
        calls = store.next_due_calls
        loop.poke(at(120))
        await asyncio.sleep(0.05)  # nothing should happen: give the loop a chance to (wrongly) wake
        assert (store.next_due_calls, loop.planned_wake) == (calls, at(60))


async def test_a_poke_while_the_loop_works_is_not_lost() -> None:
    store, clock, fired = FlakyStore(), Clock(), Fired()
    loop = TimerLoop(store, fired, clock=clock, max_sleep_seconds=60)

    async def saved_behind_its_back() -> None:  # after next_due answered, before the loop sleeps
        await save_due(store, "t1", 0)
        loop.poke(at(0))

    store.after_next_due = saved_behind_its_back
    async with running(loop):
        await wait_until(lambda: fired.ids() == ["t1"], timeout=5, what="the timer poked mid-round fired")


async def test_a_timer_saved_without_a_poke_fires_within_max_sleep() -> None:
    store, clock, fired = MemoryEscalationStore(), Clock(), Fired()
    loop = TimerLoop(store, fired, clock=clock, max_sleep_seconds=0.05)
    async with running(loop):
        await wait_until(lambda: loop.planned_wake is not None, timeout=5, what="the loop asleep")
        await save_due(store, "t1", 0)  # as another process would: no poke
        await wait_until(lambda: fired.ids() == ["t1"], timeout=5, what="the timer fired")


async def test_a_failing_fire_is_retried_after_a_backoff_and_the_loop_survives() -> None:
    store, clock, fired = MemoryEscalationStore(), Clock(), Fired(failing=2)
    await save_due(store, "t1", 0)
    loop = TimerLoop(store, fired, clock=clock, max_sleep_seconds=60)
    async with running(loop):
        await wait_until(lambda: fired.ids() == ["t1"], timeout=5, what="the timer fired on the third try")
        await wait_until(lambda: loop.backoff.failures == 0, timeout=5, what="the failure count reset")
    assert fired.calls == 3
    assert await store.counts() == TimerCounts(pending=0, fired=1)


async def test_a_failing_store_does_not_stop_the_loop() -> None:
    store, clock, fired = FlakyStore(failing=2), Clock(), Fired()
    await save_due(store, "t1", 0)
    loop = TimerLoop(store, fired, clock=clock, max_sleep_seconds=60)
    async with running(loop) as task:
        await wait_until(lambda: fired.ids() == ["t1"], timeout=5, what="the timer fired once the store answered")
        assert not task.done()


def test_a_batch_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="batch must be at least 1"):
        TimerLoop(MemoryEscalationStore(), Fired(), clock=Clock(), batch=0)
