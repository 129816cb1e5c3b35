"""A poison hold that arrives while the prioritiser is in the middle of a poll of wr.tasks waits for it:
otherwise the poll writes back the facts it read before the hold, and the held task is routed anyway
(found by CI on 2026-12-07, tests/integration/test_poison_kafka.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Literal

from tests.support.fakes import RecordingBus
from tests.unit.conftest import CONFIG_DIR
from tests.unit.test_poison_domain import letter
from tests.unit.test_prioritiser import DELIVERY, captured, envelope
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.config.catalog import Catalog
from workrouter.contracts import codec
from workrouter.contracts.envelope import make_event
from workrouter.contracts.topics import TopicNames
from workrouter.services.prioritiser import overrides
from workrouter.services.prioritiser.handlers import PrioritiserDeps
from workrouter.services.prioritiser.poison import handle_dead_letter
from workrouter.services.prioritiser.poll import PollFacts, handle_poll
from workrouter.services.prioritiser.rules_holder import RulesHolder


class SlowReads(MemoryTaskFactsStore):
    """Its reads of a poll wait until the test lets them go."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = asyncio.Event()
        self.go = asyncio.Event()

    async def get_many(self, task_ids: Collection[str]) -> dict[str, tuple[dict[str, Any], datetime]]:
        self.reading.set()
        await self.go.wait()
        return await super().get_many(task_ids)


class CountedLock(asyncio.Lock):
    """A lock that says when it has been asked for `expected` times (held or waited for)."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.asked = asyncio.Event()
        self._count = 0

    async def acquire(self) -> Literal[True]:
        self._count += 1
        if self._count >= self.expected:
            self.asked.set()
        return await super().acquire()


async def test_a_hold_during_a_poll_is_applied_after_it_and_stays(catalog: Catalog) -> None:
    store = SlowReads()
    rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
    lock = CountedLock(expected=2)  # the poll's, then the hold's
    deps = PrioritiserDeps(store, catalog, rules, RecordingBus(), facts_lock=lock)
    capture = envelope(captured(), "c1")
    dead = letter(TopicNames().tasks, "t1", codec.encode(capture).decode(), group="wr-escalation")
    poll = asyncio.create_task(handle_poll([(capture, DELIVERY)], deps))
    await store.reading.wait()  # the poll has started reading
    hold = asyncio.create_task(handle_dead_letter(make_event(dead, source="/test", key="t1"), DELIVERY, deps))
    async with asyncio.timeout(5):
        await lock.asked.wait()  # the hold has asked for the facts while the poll reads them
    store.go.set()
    await asyncio.gather(poll, hold)
    stored = await store.get("t1")
    assert stored is not None
    assert overrides.life(stored[0]) == overrides.HELD
    assert deps.bus.types("wr.tasks") == ["workrouter.task.classified", "workrouter.task.error_held"]  # type: ignore[attr-defined]


async def test_a_capture_held_before_the_prioritiser_saw_it_is_not_routed(catalog: Catalog) -> None:
    """Another service gave up on the TaskCaptured before the prioritiser handled it (its poll waits up to
    10 ms to fill): the hold, made from the dead letter's copy of the capture, must survive the capture."""
    rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, RecordingBus())
    capture = envelope(captured(), "c1")
    dead = letter(TopicNames().tasks, "t1", codec.encode(capture).decode(), group="wr-escalation")
    await handle_dead_letter(make_event(dead, source="/test", key="t1"), DELIVERY, deps)
    await handle_poll([(capture, DELIVERY)], deps)
    stored = await deps.facts.get("t1")
    assert stored is not None
    assert overrides.life(stored[0]) == overrides.HELD
    assert deps.bus.types() == ["workrouter.task.error_held"]  # type: ignore[attr-defined]


async def test_a_task_not_read_with_the_poll_is_read_when_handled() -> None:
    store = MemoryTaskFactsStore()
    await store.put("t9", {"type": "x"}, datetime(2026, 12, 7, tzinfo=UTC))
    facts = PollFacts(store, read=["t1"], loaded={})
    assert await facts.get("t9") == ({"type": "x"}, datetime(2026, 12, 7, tzinfo=UTC))
    assert await facts.get("t1") is None
    assert facts.written() == []
