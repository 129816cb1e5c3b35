"""Benchmark: what the journal costs the in-process bus's `publish` (docs/decisions.md D14).

Prints, for the bus without a journal, with a journal that only writes (what a kill -9 cannot
lose), and with the journal as `workrouter up` runs it (write + fdatasync per flush): one publisher
awaiting each publish (an api request at a time: the latency a 202 waits for), and 64 concurrent
publishers (a burst of requests: group commit shares each sync), with one consumer group handling
everything. Usage: python -m tests.bench.bench_memory_bus [--messages N] [--folder DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tests.bench.bench_bus import sample
from workrouter.adapters.bus_journal import BusJournal
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import DEADLETTER, TASKS

CONCURRENT = 64


async def run(label: str, journal: BusJournal | None, events: list[Envelope], concurrent: int) -> None:
    """Publish `events` from `concurrent` publishers; print publishes/s and the latency of one publish."""
    bus = MemoryBus([TASKS, DEADLETTER], journal=journal)

    async def handle(_: Envelope, __: Delivery) -> None:
        return None

    bus.subscribe(TASKS.name, "bench", handle)
    await bus.start()
    latencies: list[float] = []

    async def publisher(share: list[Envelope]) -> None:
        for event in share:
            began = time.perf_counter()
            await bus.publish(TASKS.name, event)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(publisher(events[i::concurrent]) for i in range(concurrent)))
    elapsed = time.perf_counter() - began
    await bus.drain(30)
    await bus.stop()
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(
        f"{label:<34} x{concurrent:<3} {len(events) / elapsed:>9,.0f} publish/s"
        f"   one publish: p50 {p50 * 1e6:>6,.0f} us  p99 {p99 * 1e6:>6,.0f} us",
        flush=True,
    )


async def main(messages: int, folder: Path) -> None:
    """Every variant, one after the other, on fresh journal folders under `folder`."""
    events = [sample(i) for i in range(messages)]
    for concurrent in (1, CONCURRENT):
        await run("no journal (before)", None, events, concurrent)
        await run("journal, write only", BusJournal(folder / f"w{concurrent}", sync=False), events, concurrent)
        await run("journal, write + fdatasync (up)", BusJournal(folder / f"s{concurrent}"), events, concurrent)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--folder", type=Path, help="where the journals go (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        asyncio.run(main(args.messages, Path(tmp)))
