"""`partition_for` against the real broker: the partition aiokafka's producer reports for each keyed message."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer

from tests.support.infra import Infra
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.bus.partitioning import partition_for
from workrouter.contracts.topics import TopicSpec

KEYS = [f"domain-{i}" for i in range(150)] + ["backoffice", "", "ünïcode-dömain", "a" * 300, "site:paris/tenant:7"]


async def test_partition_for_is_the_partition_in_the_record_metadata(infra: Infra) -> None:
    suffix = uuid.uuid4().hex[:10]
    specs = [TopicSpec(f"test.partitioning.{n}.{suffix}", "key", n, "partitioning test", ()) for n in (1, 6, 7)]
    await KafkaBus(infra.kafka_bootstrap, topics=specs, deadletter_topic=specs[0].name).create_topics()
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap)
    await producer.start()
    try:
        for spec in specs:
            sent = [await producer.send(spec.name, b"{}", key=key.encode()) for key in KEYS]
            metadata = await asyncio.gather(*sent)
            placed = {key: meta.partition for key, meta in zip(KEYS, metadata, strict=True)}
            assert placed == {key: partition_for(key, spec.partitions) for key in KEYS}, spec.name
    finally:
        await producer.stop()
