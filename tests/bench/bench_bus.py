"""Benchmark: the Kafka bus adapter against raw aiokafka on the same broker and message size.

Prints messages/s for: raw produce (batched), raw produce waiting for each ack, bus publish
(waits for each ack), raw consume (auto-commit), and bus consume (commit after each handler).
Usage: python -m tests.bench.bench_bus [--messages N] [--bootstrap host:port]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.support.infra import resolve
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.bus.port import Delivery
from workrouter.contracts.codec import encode
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskCaptured
from workrouter.contracts.topics import TopicSpec


def sample(i: int) -> Envelope:
    """A realistic captured-task event (about 600 bytes on the wire)."""
    payload = TaskCaptured(
        task_id=f"t-{i}",
        source="crm",
        external_id=f"CASE-{i:08d}",
        type="claim",
        title="Customer disputes invoice 2026-11 and asks for a refund",
        url=f"https://crm.example.com/cases/{i}",
        attributes={"department": "Finance", "segment": "Gold", "language": "en", "value": 1200.5},
    )
    return make_event(payload, source="/workrouter/capture", key=payload.task_id, subject=payload.task_id)


async def timed(label: str, count: int, work: Callable[[], Awaitable[None]]) -> float:
    """Run `work`, print and return messages per second."""
    start = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"{label:<42} {count:>7} msgs in {elapsed:6.2f}s = {rate:>9,.0f} msg/s", flush=True)
    return rate


async def produce(bootstrap: str, raw: TopicSpec, bus: KafkaBus, bus_topic: TopicSpec, events: list[Envelope]) -> None:
    """Producer figures: raw batched, raw one ack at a time, and the bus."""
    values = [(e.partitionkey.encode(), encode(e)) for e in events]
    batched = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    each = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await batched.start()
    await each.start()

    async def raw_batched() -> None:
        futures = [await batched.send(raw.name, value, key=key) for key, value in values]
        await asyncio.gather(*futures)

    async def raw_each() -> None:
        for key, value in values:
            await each.send_and_wait(raw.name, value, key=key)

    async def bus_publish() -> None:
        for event in events:
            await bus.publish(bus_topic.name, event)

    await timed("raw aiokafka produce, batched (linger 5 ms)", len(values), raw_batched)
    await timed("raw aiokafka produce, wait for each ack", len(values), raw_each)
    await batched.stop()
    await each.stop()
    await bus.start()
    await timed("bus publish (waits for each ack)", len(events), bus_publish)
    await bus.stop()


async def consume(bootstrap: str, raw: TopicSpec, bus_topic: TopicSpec, dead: TopicSpec, count: int) -> None:
    """Consumer figures: raw with auto-commit, and the bus committing after each handler."""
    suffix = uuid.uuid4().hex[:8]

    async def raw_consume() -> None:
        consumer = AIOKafkaConsumer(
            raw.name, bootstrap_servers=bootstrap, group_id=f"raw-{suffix}", auto_offset_reset="earliest"
        )
        await consumer.start()
        seen = 0
        try:
            while seen < 2 * count:
                batch = await consumer.getmany(timeout_ms=1000)
                seen += sum(len(records) for records in batch.values())
        finally:
            await consumer.stop()

    await timed("raw aiokafka consume (auto-commit)", 2 * count, raw_consume)
    done = asyncio.Event()
    handled = 0

    async def handler(_: Envelope, __: Delivery) -> None:
        nonlocal handled
        handled += 1
        if handled == count:
            done.set()

    bus = KafkaBus(bootstrap, topics=[bus_topic, dead], deadletter_topic=dead.name)
    bus.subscribe(bus_topic.name, f"bus-{suffix}", handler)

    async def bus_consume() -> None:
        await bus.start()
        await done.wait()

    await timed("bus consume (decode, handler, batched commits)", count, bus_consume)
    await bus.stop()


async def main(messages: int, bootstrap: str) -> None:
    """Run every measurement once and print the figures."""
    suffix = uuid.uuid4().hex[:8]
    raw = TopicSpec(f"bench.raw.{suffix}", "task_id", 3, "bench", ())
    bus_topic = TopicSpec(f"bench.bus.{suffix}", "task_id", 3, "bench", ())
    dead = TopicSpec(f"bench.dead.{suffix}", "key", 1, "bench", ())
    events = [sample(i) for i in range(messages)]
    print(f"broker {bootstrap}; {messages} messages of ~{len(encode(events[0]))} bytes; 3 partitions", flush=True)
    bus = KafkaBus(bootstrap, topics=[raw, bus_topic, dead], deadletter_topic=dead.name)
    await bus.create_topics()
    await produce(bootstrap, raw, bus, bus_topic, events)
    await consume(bootstrap, raw, bus_topic, dead, messages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--bootstrap", default=None, help="default: WR_KAFKA_BOOTSTRAP or the local broker")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.bootstrap or resolve().kafka_bootstrap))
