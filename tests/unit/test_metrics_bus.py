"""Bus metrics: handler outcomes counted in `attempt`, and consumer lag read from (fake) aiokafka consumers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import REGISTRY, CollectorRegistry

from workrouter.adapters.kafka_lag import ConsumerLagCollector, broker_consumers, track_bus
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
class State:
    position: int | None

    @property
    def has_valid_position(self) -> bool:
        return self.position is not None


@dataclass
class FakeConsumer:
    """What the collector reads of an AIOKafkaConsumer: assignment, highwater and the fetch position."""

    highwaters: dict[TopicPartition, int | None]
    positions: dict[TopicPartition, int | None] = field(default_factory=dict)

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters[tp]

    @property
    def _subscription(self) -> Any:
        positions = self.positions

        class Assignment:
            def state_value(self, tp: TopicPartition) -> State:
                return State(positions.get(tp))

        class Subscription:
            assignment = Assignment()

        class Holder:
            subscription = Subscription()

        return Holder()


def lag(registry: CollectorRegistry, group: str, topic: str, partition: int) -> float | None:
    return registry.get_sample_value(
        "workrouter_consumer_lag", {"group": group, "topic": topic, "partition": str(partition)}
    )


def test_lag_is_highwater_minus_the_handled_or_fetched_offset() -> None:
    t0, t1, t2 = (TopicPartition("wr.tasks", p) for p in range(3))
    consumer = FakeConsumer({t0: 120, t1: 50, t2: None}, positions={t0: 100, t1: 50})
    collector = ConsumerLagCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    untrack = collector.track(lambda: [("wr-escalation", consumer)])
    assert lag(registry, "wr-escalation", "wr.tasks", 0) == 20  # fetched up to 100
    assert lag(registry, "wr-escalation", "wr.tasks", 1) == 0
    assert lag(registry, "wr-escalation", "wr.tasks", 2) is None  # never fetched: no high watermark yet
    untrack()
    handled = collector.track(lambda: [("g", consumer)], lambda group, tp: 90 if tp == t0 else None)
    assert lag(registry, "g", "wr.tasks", 0) == 30  # handled up to 89: the bus knows better than the fetcher
    assert lag(registry, "wr-escalation", "wr.tasks", 0) is None  # untracked
    handled()
    assert lag(registry, "g", "wr.tasks", 0) is None


def test_track_bus_finds_the_consumers_of_a_faststream_broker_and_ignores_other_buses() -> None:
    consumer = FakeConsumer({TopicPartition("wr.routing", 3): 7}, positions={TopicPartition("wr.routing", 3): 2})

    @dataclass
    class Subscriber:
        group_id: str | None
        consumer: Any

    class Broker:
        def __init__(self) -> None:
            self.subscribers = [Subscriber("wr-router", consumer), Subscriber(None, consumer), Subscriber("idle", None)]

    class KafkaLikeBus:
        _broker = Broker()

    assert broker_consumers(Broker()) == [("wr-router", consumer)]
    untrack = track_bus(KafkaLikeBus())
    try:
        value = REGISTRY.get_sample_value(
            "workrouter_consumer_lag", {"group": "wr-router", "topic": "wr.routing", "partition": "3"}
        )
        assert value == 5
    finally:
        untrack()
    track_bus(object())()  # a bus without Kafka consumers: nothing tracked, nothing to undo
