"""Raw Kafka on the same broker, for scale: aiokafka produce→consume of messages of the pipeline's size."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.wait import wait_until
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.contracts.topics import TopicSpec


@dataclass(frozen=True)
class RawFigures:
    """Messages per second: pipelined produce→consume, and produce waiting for each ack (as a service does)."""

    size: int
    messages: int
    produce_consume_per_s: float
    one_ack_at_a_time_per_s: float


def _values(size: int, count: int) -> list[tuple[bytes, bytes]]:
    body = os.urandom(size // 2).hex().encode()[:size]  # printable, incompressible-ish, exactly `size` bytes
    return [(uuid.uuid4().hex.encode(), body) for _ in range(count)]


async def _create(bootstrap: str, name: str, partitions: int) -> None:
    """Create the topic and wait until every partition has a leader (as the bus does)."""
    spec = TopicSpec(name, "key", partitions, "raw benchmark", ())
    await KafkaBus(bootstrap, topics=[spec], deadletter_topic=name).create_topics()


async def _delete(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def produce_consume(bootstrap: str, size: int, count: int, partitions: int) -> float:
    """Messages/s from the first send to the last message read by a consumer running alongside."""
    name = f"bench-e2e-raw-{uuid.uuid4().hex[:8]}"
    await _create(bootstrap, name, partitions)
    values = _values(size, count)
    consumer = AIOKafkaConsumer(name, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        await wait_until(lambda: bool(consumer.assignment()), timeout=30, what="the raw topic's partitions")
        start = time.perf_counter()

        async def produce() -> None:
            futures = [await producer.send(name, value, key=key) for key, value in values]
            await asyncio.gather(*futures)

        sending = asyncio.create_task(produce())
        seen = 0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
        elapsed = time.perf_counter() - start
        await sending
        return count / elapsed
    finally:
        await producer.stop()
        await consumer.stop()
        with contextlib.suppress(Exception):
            await _delete(bootstrap, name)


async def one_ack_at_a_time(bootstrap: str, size: int, count: int) -> float:
    """Messages/s sending each and waiting for its ack before the next: a handler's publish, alone."""
    name = f"bench-e2e-ack-{uuid.uuid4().hex[:8]}"
    await _create(bootstrap, name, 1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        values = _values(size, count)
        start = time.perf_counter()
        for key, value in values:
            await producer.send_and_wait(name, value, key=key)
        return count / (time.perf_counter() - start)
    finally:
        await producer.stop()
        with contextlib.suppress(Exception):
            await _delete(bootstrap, name)


async def raw_kafka(bootstrap: str, size: int, messages: int, partitions: int = 6) -> RawFigures:
    """Both raw figures for messages of `size` bytes."""
    pipelined = await produce_consume(bootstrap, size, messages, partitions)
    each = await one_ack_at_a_time(bootstrap, size, max(500, messages // 20))
    return RawFigures(size, messages, pipelined, each)
