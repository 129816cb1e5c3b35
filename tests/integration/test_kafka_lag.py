"""`workrouter_consumer_lag` on real Kafka, read through aiokafka's public calls and the bus's handled offsets."""

from __future__ import annotations

import asyncio
import uuid

from prometheus_client import CollectorRegistry

from tests.contracts.bus_contract import event
from tests.support.infra import Infra
from tests.support.wait import wait_until, wait_until_async
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_lag import ConsumerLagCollector
from workrouter.bus.partitioning import partition_for
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import TaskReprioritised
from workrouter.contracts.topics import TopicSpec

MESSAGES = 10
STUCK_AT = 3  # the handler holds the message of this sequence number until released


async def test_lag_counts_what_was_fetched_but_not_handled_and_idle_partitions_read_zero(infra: Infra) -> None:
    suffix = uuid.uuid4().hex[:10]
    work = TopicSpec(f"test.lag.{suffix}", "key", 2, "lag test", ())
    dead = TopicSpec(f"test.lag-dead.{suffix}", "key", 1, "lag test dead letters", ())
    group = f"lag-{suffix}"
    key = next(k for k in (f"task-{n}" for n in range(100)) if partition_for(k, 2) == 0)  # all on partition 0
    bus = KafkaBus(infra.kafka_bootstrap, topics=[work, dead], deadletter_topic=dead.name)
    release = asyncio.Event()
    handled: list[int] = []

    async def handler(envelope: Envelope, _: Delivery) -> None:
        assert isinstance(envelope.data, TaskReprioritised)
        if envelope.data.priority == STUCK_AT:
            await release.wait()
        handled.append(envelope.data.priority)

    bus.subscribe(work.name, group, handler)
    collector = ConsumerLagCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    collector.track(bus)

    def lag(partition: int) -> float | None:
        return registry.get_sample_value(
            "workrouter_consumer_lag", {"group": group, "topic": work.name, "partition": str(partition)}
        )

    async def lag_is(partition: int, expected: float) -> bool:
        await collector.refresh()
        return lag(partition) == expected

    await bus.start()
    try:
        for seq in range(MESSAGES):
            await bus.publish(work.name, event(key, seq))
        await wait_until(lambda: len(handled) == STUCK_AT, timeout=60, what="the messages before the stuck one")
        # The consumer fetched some or all of the ten, so its position is ahead; the bus knows 3 were handled.
        # While the handler is stuck the consumer fetches no more, so its high watermark is stale; the broker's
        # end offset is not.
        await wait_until_async(lambda: lag_is(0, MESSAGES - STUCK_AT), timeout=30, what="the lag of partition 0")
        await wait_until_async(lambda: lag_is(1, 0), timeout=30, what="the idle partition read as 0")
        assert [c[0] for c in bus.consumers()] == [group]
        release.set()
        await wait_until(lambda: len(handled) == MESSAGES, timeout=60, what="every message")
        await wait_until_async(lambda: lag_is(0, 0), timeout=30, what="no lag once all are handled")
    finally:
        release.set()
        await bus.stop()
    await collector.refresh()
    assert lag(0) is None  # a stopped bus has no assignment: nothing reported
