"""Consumer lag of the process's Kafka consumers, computed when Prometheus scrapes.

`workrouter_consumer_lag{group,topic,partition}` = the partition's high watermark (the offset the
next produced message will get) minus the offset after the last message this process handled
there. Only partitions the process is assigned right now are reported, so summing over processes
gives the group's lag. The high watermark comes from the consumer's last fetch response (aiokafka
keeps it per partition; a partition never fetched yet has none and is left out). The handled
offset comes from `next_offset` when the bus gives one; otherwise from the consumer's fetch
position, which runs ahead of handling by what was fetched but not handled yet (one poll at most).

Everything here reads in-memory state only, so `collect()` must run on the event loop's thread,
which `workrouter.adapters.metrics_http` guarantees.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
Consumers = Callable[[], Iterable[tuple[str, Any]]]
"""Returns the live (group id, AIOKafkaConsumer) pairs of a bus."""
NextOffset = Callable[[str, TopicPartition], int | None]
"""(group, partition) -> the offset after the last message handled there, or None if unknown."""


class ConsumerLagCollector(Collector):
    """Reports the lag of every tracked bus's consumers; buses come and go with `track`."""

    def __init__(self) -> None:
        self._sources: dict[int, tuple[Consumers, NextOffset | None]] = {}
        self._ids = itertools.count()

    def track(self, consumers: Consumers, next_offset: NextOffset | None = None) -> Callable[[], None]:
        """Report these consumers from now on; returns the function that stops reporting them."""
        key = next(self._ids)
        self._sources[key] = (consumers, next_offset)

        def untrack() -> None:
            self._sources.pop(key, None)

        return untrack

    def collect(self) -> Iterator[Metric]:
        """One gauge sample per assigned partition with a known high watermark."""
        lag = GaugeMetricFamily(
            "workrouter_consumer_lag",
            "Messages in the partition not yet handled by this process's consumer of the group.",
            labels=["group", "topic", "partition"],
        )
        for consumers, next_offset in list(self._sources.values()):
            try:
                live = list(consumers())
            except Exception:  # a bus that is starting or stopping: nothing to say about it now
                log.debug("consumer lag: cannot list consumers", exc_info=True)
                continue
            for group, consumer in live:
                for tp in sorted(_assignment(consumer)):
                    value = partition_lag(consumer, group, tp, next_offset)
                    if value is not None:
                        lag.add_metric([group, tp.topic, str(tp.partition)], float(value))
        yield lag


def partition_lag(consumer: Any, group: str, tp: TopicPartition, next_offset: NextOffset | None) -> int | None:
    """High watermark minus the next offset to handle (never negative); None when either is unknown."""
    try:
        highwater = consumer.highwater(tp)
    except AssertionError:  # unassigned between assignment() and now
        return None
    if highwater is None:
        return None
    position = next_offset(group, tp) if next_offset is not None else None
    if position is None:
        position = fetch_position(consumer, tp)
    if position is None:
        return None
    return max(0, int(highwater) - int(position))


def fetch_position(consumer: Any, tp: TopicPartition) -> int | None:
    """The consumer's next offset to fetch, read without awaiting (aiokafka 0.14's subscription state)."""
    try:
        state = consumer._subscription.subscription.assignment.state_value(tp)
    except AttributeError:  # not assigned, or a consumer without a subscription
        return None
    if state is None or not state.has_valid_position:
        return None
    return int(state.position)


def _assignment(consumer: Any) -> set[TopicPartition]:
    try:
        return set(consumer.assignment())
    except Exception:  # stopped consumer
        return set()


def broker_consumers(broker: Any) -> list[tuple[str, Any]]:
    """(group, consumer) of each started subscriber of a FastStream KafkaBroker."""
    found: list[tuple[str, Any]] = []
    for subscriber in getattr(broker, "subscribers", ()):
        consumer, group = getattr(subscriber, "consumer", None), getattr(subscriber, "group_id", None)
        if consumer is not None and group:
            found.append((str(group), consumer))
    return found


_COLLECTOR: ConsumerLagCollector | None = None


def lag_collector() -> ConsumerLagCollector:
    """The process's one collector, registered in the default registry on first use."""
    global _COLLECTOR  # noqa: PLW0603 - one collector per process, registered once
    if _COLLECTOR is None:
        _COLLECTOR = ConsumerLagCollector()
        REGISTRY.register(_COLLECTOR)
    return _COLLECTOR


def track_bus(bus: object) -> Callable[[], None]:
    """Report the lag of a bus's Kafka consumers; returns the function that stops it (a no-op for other buses).

    A bus offering `consumers()` (-> (group, AIOKafkaConsumer) pairs) and optionally
    `next_offset(group, tp)` is asked through them; otherwise the consumers of its FastStream
    broker (`bus._broker`) are found, with the fetch position as the handled offset.
    """
    consumers = getattr(bus, "consumers", None)
    if not callable(consumers):
        broker = getattr(bus, "_broker", None)
        if broker is None or not hasattr(broker, "subscribers"):
            return lambda: None

        def consumers() -> list[tuple[str, Any]]:
            return broker_consumers(broker)

    next_offset = getattr(bus, "next_offset", None)
    return lag_collector().track(consumers, next_offset if callable(next_offset) else None)
