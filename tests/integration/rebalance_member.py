"""A group member in its own process, for the rebalance test to kill: it logs what it owns.

Usage: python -m tests.integration.rebalance_member BOOTSTRAP TOPIC DEADLETTER GROUP PARTITIONS OUTFILE
OUTFILE gets `assigned P P ...` and `revoked P P ...` lines (line-buffered) as ownership changes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import TopicSpec

OPTIONS = KafkaOptions(session_timeout_ms=6000, heartbeat_interval_ms=500)


async def main(argv: list[str], out: TextIO) -> None:
    """Consume until killed."""
    bootstrap, topic, deadletter, group, partitions = argv
    specs = [TopicSpec(topic, "k", int(partitions), "", ()), TopicSpec(deadletter, "k", 1, "", ())]
    bus = KafkaBus(bootstrap, topics=specs, deadletter_topic=deadletter, options=OPTIONS)

    async def handle(envelope: Envelope, delivery: Delivery) -> None:
        """Messages do not matter here."""

    async def on_assign(owned: set[int]) -> None:
        out.write(" ".join(["assigned", *map(str, sorted(owned))]) + "\n")

    async def on_revoke(owned: set[int]) -> None:
        out.write(" ".join(["revoked", *map(str, sorted(owned))]) + "\n")

    bus.subscribe(topic, group, handle, on_assign=on_assign, on_revoke=on_revoke)
    await bus.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    with Path(sys.argv[6]).open("a", buffering=1) as log:
        asyncio.run(main(sys.argv[1:6], log))
