"""Consumer lag of the process's Kafka consumers, read before each scrape through aiokafka's public calls.

`workrouter_consumer_lag{group,topic,partition}` = the partition's end offset (the offset the next
produced message will get) minus the offset after the last message this process handled there. Only
partitions the process is assigned right now are reported (`consumer.assignment()`), so summing over
processes gives the group's lag.

- The end offset is asked of the broker at each scrape (`await consumer.end_offsets(assigned)`, one
  request per consumer). The high watermark of the consumer's last fetch (`consumer.highwater(tp)`)
  costs nothing but stops moving while a handler is stuck, because a consumer with unhandled records
  in its buffer fetches no more, and the lag would then look small just when it grows; it is only
  the fallback when the broker does not answer in time (a partition never fetched has none).
- The handled offset is the bus's own record (`KafkaBus.consumers()`); before this process handled a
  message of the partition, it is `await consumer.position(tp)`, the next offset the consumer hands
  out, which runs ahead of handling by one poll at most.

Both are coroutines, so `refresh_lag` reads the lag as one of the scrape's refreshers
(`metrics_http.MetricsApp`), and the collector reports what the last refresh read.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
POSITION_TIMEOUT_SECONDS = 0.2  # position() waits while the consumer resets a partition's position; skip it then
END_OFFSETS_TIMEOUT_SECONDS = 1.0  # below the scrape's refresh deadline (2 s), so the fallback still reports
ConsumerOffsets = tuple[str, Any, Mapping[TopicPartition, int]]
"""(group id, AIOKafkaConsumer, offset after the last handled message per partition)."""


@runtime_checkable
class LagSource(Protocol):
    """A bus whose Kafka consumers can be reported (KafkaBus)."""

    def consumers(self) -> Iterable[ConsumerOffsets]:
        """Each started subscription's group, consumer and handled offsets."""
        ...


class ConsumerLagCollector(Collector):
    """Reports the lag of every tracked bus's consumers, as the last `refresh` read it."""

    def __init__(self) -> None:
        self._sources: dict[int, LagSource] = {}
        self._ids = itertools.count()
        self._samples: list[tuple[str, TopicPartition, int]] = []

    def track(self, source: LagSource) -> Callable[[], None]:
        """Report these consumers from now on; returns the function that stops reporting them."""
        key = next(self._ids)
        self._sources[key] = source

        def untrack() -> None:
            self._sources.pop(key, None)

        return untrack

    async def refresh(self) -> None:
        """Read the lag of every assigned partition with a known high watermark."""
        samples: list[tuple[str, TopicPartition, int]] = []
        for source in list(self._sources.values()):
            try:
                live = list(source.consumers())
            except Exception:  # a bus that is starting or stopping: nothing to say about it now
                log.debug("consumer lag: cannot list consumers", exc_info=True)
                continue
            for group, consumer, handled in live:
                assigned = sorted(_assignment(consumer))
                ends = await end_offsets(consumer, assigned) if assigned else {}
                for tp in assigned:
                    value = await partition_lag(consumer, tp, handled, ends.get(tp))
                    if value is not None:
                        samples.append((group, tp, value))
        self._samples = samples

    def collect(self) -> Iterator[Metric]:
        """One gauge sample per partition the last refresh could read."""
        lag = GaugeMetricFamily(
            "workrouter_consumer_lag",
            "Messages in the partition not yet handled by this process's consumer of the group.",
            labels=["group", "topic", "partition"],
        )
        for group, tp, value in self._samples:
            lag.add_metric([group, tp.topic, str(tp.partition)], float(value))
        yield lag


async def end_offsets(consumer: Any, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The partitions' end offsets from the broker; empty when it does not answer in time."""
    try:
        async with asyncio.timeout(END_OFFSETS_TIMEOUT_SECONDS):
            return dict(await consumer.end_offsets(partitions))
    except Exception as exc:  # a broker away or slow: the fetched high watermarks will do for this scrape
        log.debug("consumer lag: no end offsets (%s: %s); using the fetched high watermarks", type(exc), exc)
        return {}


async def partition_lag(
    consumer: Any, tp: TopicPartition, handled: Mapping[TopicPartition, int], end: int | None = None
) -> int | None:
    """The end offset (or the fetched high watermark) minus the next offset to handle (never negative); None
    when either is unknown."""
    if end is None:
        try:
            end = consumer.highwater(tp)
        except AssertionError:  # unassigned since assignment() was read
            return None
    if end is None:
        return None
    position = handled.get(tp)
    if position is None:
        try:
            async with asyncio.timeout(POSITION_TIMEOUT_SECONDS):
                position = await consumer.position(tp)
        except (IllegalStateError, TimeoutError):  # unassigned meanwhile, or no valid position yet
            return None
    return max(0, int(end) - int(position))


def _assignment(consumer: Any) -> set[TopicPartition]:
    try:
        return set(consumer.assignment())
    except Exception:  # stopped consumer
        return set()


_COLLECTOR: ConsumerLagCollector | None = None


def lag_collector() -> ConsumerLagCollector:
    """The process's one collector, registered in the default registry on first use."""
    global _COLLECTOR  # noqa: PLW0603 - one collector per process, registered once
    if _COLLECTOR is None:
        _COLLECTOR = ConsumerLagCollector()
        REGISTRY.register(_COLLECTOR)
    return _COLLECTOR


async def refresh_lag() -> None:
    """A scrape's refresher: read the lag of the tracked buses (nothing to do before one is tracked)."""
    if _COLLECTOR is not None:
        await _COLLECTOR.refresh()


def track_bus(bus: object) -> Callable[[], None]:
    """Report the lag of a bus's Kafka consumers; returns the function that stops it (a no-op for other buses)."""
    if not isinstance(bus, LagSource):
        return lambda: None
    return lag_collector().track(bus)
