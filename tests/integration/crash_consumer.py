"""A consumer process for the crash test: logs what it handled, dies (no commit) on one message.

Usage: python -m tests.integration.crash_consumer BOOTSTRAP TOPIC DEADLETTER GROUP OUTFILE CRASH_ON COMMIT_EVERY
It dies inside the handler of its CRASH_ON-th delivery.
OUTFILE gets `handled SEQ PARTITION OFFSET` per handled message (line-buffered), then `crash SEQ PARTITION OFFSET`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TextIO

from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import TaskReprioritised
from workrouter.contracts.topics import TopicSpec


async def main(argv: list[str], log: TextIO) -> None:
    """Consume until killed by our own crash."""
    bootstrap, topic, deadletter, group, crash_on, every = argv
    deliveries = 0
    specs = [TopicSpec(topic, "k", 3, "", ()), TopicSpec(deadletter, "k", 1, "", ())]
    options = KafkaOptions(session_timeout_ms=6000, commit_every=int(every), commit_interval_s=60)
    bus = KafkaBus(bootstrap, topics=specs, deadletter_topic=deadletter, options=options)

    async def handle(envelope: Envelope, delivery: Delivery) -> None:
        nonlocal deliveries
        assert isinstance(envelope.data, TaskReprioritised)
        deliveries += 1
        word = "crash" if deliveries == int(crash_on) else "handled"
        log.write(f"{word} {envelope.data.priority} {delivery.partition} {delivery.offset}\n")
        if word == "crash":
            os._exit(9)  # die inside the handler, before its offset can be committed, like kill -9

    bus.subscribe(topic, group, handle)
    await bus.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    with Path(sys.argv[5]).open("a", buffering=1) as out:
        asyncio.run(main([*sys.argv[1:5], *sys.argv[6:8]], out))
