"""A consumer process for the crash test: records what it handled, dies (no commit) on one message.

Usage: python -m tests.integration.crash_consumer BOOTSTRAP TOPIC DEADLETTER GROUP OUTFILE CRASH_SEQ
(OUTFILE gets one line per handled message, flushed at once.)
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TextIO

from workrouter.adapters.kafka_bus import KafkaBus, KafkaOptions
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import TaskReprioritised
from workrouter.contracts.topics import TopicSpec


async def main(argv: list[str], log: TextIO) -> None:
    """Consume until killed by our own crash."""
    bootstrap, topic, deadletter, group, seq = argv
    crash_seq = int(seq)
    specs = [TopicSpec(topic, "k", 3, "", ()), TopicSpec(deadletter, "k", 1, "", ())]
    bus = KafkaBus(bootstrap, topics=specs, deadletter_topic=deadletter, options=KafkaOptions(session_timeout_ms=6000))

    async def handle(envelope: Envelope, delivery: Delivery) -> None:
        assert isinstance(envelope.data, TaskReprioritised)
        if envelope.data.priority == crash_seq:
            log.write(f"crash {crash_seq}\n")
            os._exit(9)  # die inside the handler, before the commit, like kill -9
        log.write(f"handled {envelope.data.priority}\n")

    bus.subscribe(topic, group, handle)
    await bus.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    with Path(sys.argv[5]).open("a", buffering=1) as out:
        asyncio.run(main(sys.argv[1:5] + sys.argv[6:7], out))
