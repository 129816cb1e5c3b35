"""Bus metrics: handler outcomes counted in `attempt`, and consumer lag read from (fake) aiokafka consumers
through their public calls."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError, KafkaTimeoutError
from prometheus_client import REGISTRY, CollectorRegistry

from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_lag import ConsumerLagCollector, refresh_lag, track_bus
from workrouter.bus.delivery import DeliveryPolicy, attempt
from workrouter.bus.port import Delivery, PermanentError
from workrouter.contracts import codec
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskCompleted

GOOD = codec.encode(make_event(TaskCompleted(task_id="t1", by="agent"), source="/s", key="t1"))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_attempt_counts_acks_retries_and_dead_letters_by_topic_and_error() -> None:
    topic = f"unit.{uuid.uuid4().hex[:8]}"  # a topic of its own: the registry is shared by the whole run

    async def ok(_: Envelope, __: Delivery) -> None:
        return None

    async def boom(_: Envelope, __: Delivery) -> None:
        raise ConnectionError("redis gone")

    async def refuse(_: Envelope, __: Delivery) -> None:
        raise PermanentError("no such queue")

    policy = DeliveryPolicy(max_attempts=2)
    await attempt(GOOD, Delivery(topic, 0, 1, "t1", 1), ok, policy)
    await attempt(GOOD, Delivery(topic, 0, 2, "t1", 1), boom, policy)
    await attempt(GOOD, Delivery(topic, 0, 2, "t1", 2), boom, policy)
    await attempt(GOOD, Delivery(topic, 0, 3, "t1", 1), refuse, policy)
    await attempt(b"{not json", Delivery(topic, 0, 4, None, 1), ok, policy)
    assert sample("workrouter_messages_handled_total", topic=topic, verdict="ack") == 1
    assert sample("workrouter_messages_handled_total", topic=topic, verdict="retry") == 1
    assert sample("workrouter_messages_handled_total", topic=topic, verdict="dead_letter") == 3
    errors = "workrouter_handler_errors_total"
    assert sample(errors, topic=topic, error_type="ConnectionError", verdict="retry") == 1
    assert sample(errors, topic=topic, error_type="ConnectionError", verdict="dead_letter") == 1
    assert sample(errors, topic=topic, error_type="rejected", verdict="dead_letter") == 1
    assert sample(errors, topic=topic, error_type="decode", verdict="dead_letter") == 1


@dataclass
class FakeConsumer:
    """What the collector reads of an AIOKafkaConsumer: assignment, end offsets, highwater and position (all
    public). Without `ends`, the broker does not answer."""

    highwaters: dict[TopicPartition, int | None]
    positions: dict[TopicPartition, int | None] = field(default_factory=dict)
    ends: dict[TopicPartition, int] | None = None

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        if self.ends is None:
            raise KafkaTimeoutError
        return {tp: self.ends[tp] for tp in partitions}

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, tp: TopicPartition) -> int | None:
        assert tp in self.highwaters, "Partition is not assigned"
        return self.highwaters[tp]

    async def position(self, tp: TopicPartition) -> int:
        if tp not in self.highwaters:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        position = self.positions.get(tp)
        if position is None:  # aiokafka waits until the consumer has reset the position
            await asyncio.Event().wait()
        assert position is not None
        return position


@dataclass
class FakeBus:
    """A bus offering `consumers()`, as KafkaBus does."""

    live: list[tuple[str, Any, Mapping[TopicPartition, int]]]

    def consumers(self) -> list[tuple[str, Any, Mapping[TopicPartition, int]]]:
        return self.live


def lag(registry: CollectorRegistry, group: str, topic: str, partition: int) -> float | None:
    return registry.get_sample_value(
        "workrouter_consumer_lag", {"group": group, "topic": topic, "partition": str(partition)}
    )


async def test_lag_is_the_end_offset_minus_the_handled_offset_or_else_the_position() -> None:
    t0, t1 = TopicPartition("wr.tasks", 0), TopicPartition("wr.tasks", 1)
    consumer = FakeConsumer({t0: 60, t1: None}, positions={t0: 100, t1: 0}, ends={t0: 150, t1: 4})
    collector = ConsumerLagCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    collector.track(FakeBus([("wr-reporting", consumer, {t0: 90})]))
    await collector.refresh()
    assert lag(registry, "wr-reporting", "wr.tasks", 0) == 60  # the broker's end offset, not the stale highwater
    assert lag(registry, "wr-reporting", "wr.tasks", 1) == 4  # never fetched, still known to the broker


async def test_without_end_offsets_the_fetched_highwater_is_the_end() -> None:
    t0, t1, t2, t3 = (TopicPartition("wr.tasks", p) for p in range(4))
    consumer = FakeConsumer({t0: 120, t1: 50, t2: None, t3: 9}, positions={t0: 100, t1: 50})
    collector = ConsumerLagCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    untrack = collector.track(FakeBus([("wr-escalation", consumer, {})]))
    assert lag(registry, "wr-escalation", "wr.tasks", 0) is None  # nothing read before the first refresh
    await collector.refresh()
    assert lag(registry, "wr-escalation", "wr.tasks", 0) == 20  # the consumer's position: 100
    assert lag(registry, "wr-escalation", "wr.tasks", 1) == 0
    assert lag(registry, "wr-escalation", "wr.tasks", 2) is None  # never fetched: no high watermark yet
    assert lag(registry, "wr-escalation", "wr.tasks", 3) is None  # no valid position yet: skipped, not waited for
    untrack()
    handled = collector.track(FakeBus([("g", consumer, {t0: 90})]))
    await collector.refresh()
    assert lag(registry, "g", "wr.tasks", 0) == 30  # handled up to 89: the bus knows better than the fetcher
    assert lag(registry, "g", "wr.tasks", 1) == 0  # nothing handled there yet: the position
    assert lag(registry, "wr-escalation", "wr.tasks", 0) is None  # untracked
    handled()
    assert lag(registry, "g", "wr.tasks", 0) == 30  # the last refresh's values until the next one
    await collector.refresh()
    assert lag(registry, "g", "wr.tasks", 0) is None


async def test_track_bus_follows_a_bus_with_consumers_and_ignores_other_buses() -> None:
    tp = TopicPartition("wr.routing", 3)
    untrack = track_bus(FakeBus([("wr-router", FakeConsumer({tp: 7}, positions={tp: 2}), {})]))
    try:
        await refresh_lag()
        value = REGISTRY.get_sample_value(
            "workrouter_consumer_lag", {"group": "wr-router", "topic": "wr.routing", "partition": "3"}
        )
        assert value == 5
    finally:
        untrack()
    track_bus(object())()  # a bus without Kafka consumers: nothing tracked, nothing to undo
    await refresh_lag()
    assert (
        REGISTRY.get_sample_value(
            "workrouter_consumer_lag", {"group": "wr-router", "topic": "wr.routing", "partition": "3"}
        )
        is None
    )


def test_a_kafka_bus_lists_only_started_consumers() -> None:
    bus = KafkaBus("127.0.0.1:1")
    bus.subscribe("wr.tasks", "g", handler=lambda _, __: asyncio.sleep(0))
    assert bus.consumers() == []  # not started: FastStream's subscriber has no consumer yet
