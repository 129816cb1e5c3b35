"""The bus contract on the in-process adapter, plus what only it promises."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from tests.contracts.bus_batch_contract import BatchBusContract
from tests.contracts.bus_contract import FAST_RETRY, BusContract, BusFactory, OwnershipLog, Recorder, event
from tests.support.wait import wait_until
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.partitioning import partition_for
from workrouter.bus.port import Bus, Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import TopicSpec


class TestMemoryBusContract(BusContract, BatchBusContract):
    timeout = 5.0

    @pytest.fixture
    def bus_factory(self) -> BusFactory:
        def make(topics: Sequence[TopicSpec], deadletter: str, policy: DeliveryPolicy) -> Bus:
            return MemoryBus(topics, deadletter_topic=deadletter, policy=policy)

        return make


async def test_restarted_consumer_resumes_after_the_last_committed_offset(topics: tuple[TopicSpec, TopicSpec]) -> None:
    work, dead = topics
    bus = MemoryBus(topics, deadletter_topic=dead.name, policy=FAST_RETRY)
    recorder = Recorder()
    bus.subscribe(work.name, "g", recorder)
    await bus.start()
    for seq in range(5):
        await bus.publish(work.name, event("k", seq))
    await wait_until(lambda: len(recorder.handled) == 5, timeout=5, what="first five")
    await bus.stop()
    await bus.start()
    for seq in range(5, 8):
        await bus.publish(work.name, event("k", seq))
    await wait_until(lambda: len(recorder.handled) == 8, timeout=5, what="three more")
    await bus.stop()
    assert recorder.sequences() == {"k": list(range(8))}


async def test_publishing_to_an_unknown_topic_names_the_known_ones(topics: tuple[TopicSpec, TopicSpec]) -> None:
    bus = MemoryBus(topics, deadletter_topic=topics[1].name)
    await bus.start()
    with pytest.raises(ValueError, match="unknown topic 'nope'; known: "):
        await bus.publish_raw("nope", None, b"{}")
    await bus.stop()


async def test_publishing_before_start_is_refused(topics: tuple[TopicSpec, TopicSpec]) -> None:
    bus = MemoryBus(topics, deadletter_topic=topics[1].name)
    with pytest.raises(RuntimeError, match="not started"):
        await bus.publish(topics[0].name, event("k", 0))


async def test_each_start_assigns_every_partition_and_each_stop_revokes_them(
    topics: tuple[TopicSpec, TopicSpec],
) -> None:
    work, dead = topics
    bus = MemoryBus(topics, deadletter_topic=dead.name)
    log = OwnershipLog()
    bus.subscribe(work.name, "g", log.handler, on_assign=log.on_assign, on_revoke=log.on_revoke)

    async def run(messages: int) -> None:
        await bus.start()
        await bus.publish(work.name, event("k", messages))
        await wait_until(lambda: log.messages() == messages, timeout=5, what=f"message {messages}")
        await bus.stop()

    await run(1)
    await run(2)
    everything = frozenset(range(work.partitions))
    message = ("message", frozenset({partition_for("k", work.partitions)}))
    assert log.calls == [("assigning", everything), ("assigned", everything), message, ("revoked", everything)] * 2


async def test_handled_records_are_dropped_and_memory_stays_bounded(topics: tuple[TopicSpec, TopicSpec]) -> None:
    work, dead = topics
    bus = MemoryBus(topics, deadletter_topic=dead.name, retain=10)
    slow, fast = Recorder(), Recorder()
    bus.subscribe(work.name, "slow", slow)
    bus.subscribe(work.name, "fast", fast)
    await bus.start()
    for seq in range(500):
        await bus.publish(work.name, event("k", seq))
    await wait_until(lambda: len(slow.handled) == len(fast.handled) == 500, timeout=5, what="both groups")
    await bus.publish(work.name, event("k", 500))  # past the trim threshold again: trims what both handled
    await wait_until(lambda: bus.pending() == 0, timeout=5, what="the last one handled")
    kept = sum(len(log.records) for log in bus._logs[work.name])
    await bus.stop()
    assert kept <= 2 * 10 + 1, kept
    assert slow.sequences() == fast.sequences() == {"k": list(range(501))}


async def test_nothing_is_dropped_that_a_group_has_not_handled(topics: tuple[TopicSpec, TopicSpec]) -> None:
    work, dead = topics
    bus = MemoryBus(topics, deadletter_topic=dead.name, retain=5, policy=FAST_RETRY)
    stuck, fine = Recorder(fail=lambda e, d: RuntimeError("down") if d.attempt == 1 else None), Recorder()
    bus.subscribe(work.name, "stuck", stuck)
    bus.subscribe(work.name, "fine", fine)
    await bus.start()
    for seq in range(100):
        await bus.publish(work.name, event("k", seq))
    assert await bus.drain(within=10) == 0
    await bus.stop()
    assert stuck.sequences() == fine.sequences() == {"k": list(range(100))}


async def test_drain_waits_for_every_group_and_reports_what_is_left(topics: tuple[TopicSpec, TopicSpec]) -> None:
    work, dead = topics
    bus = MemoryBus(topics, deadletter_topic=dead.name, stop_timeout=0.1)
    recorder, release = Recorder(), asyncio.Event()

    async def blocked(envelope: Envelope, _: Delivery) -> None:
        if envelope.partitionkey == "stuck":
            await release.wait()

    bus.subscribe(work.name, "g", recorder)
    bus.subscribe(work.name, "h", blocked)
    await bus.start()
    for seq in range(50):
        await bus.publish(work.name, event("k", seq))
    assert await bus.drain(within=10) == 0
    assert len(recorder.handled) == 50
    await bus.publish(work.name, event("stuck", 0))
    assert await bus.drain(within=0.3) == 1  # group h has not handled it
    release.set()
    assert await bus.drain(within=10) == 0
    await bus.stop()
