"""Benchmark: capture + classify throughput through real Kafka and PostgreSQL.

Publishes N capture commands to wr.capture (under a fresh topic prefix), with the capture
and prioritiser services running in this process on their own buses, and prints tasks/s
from the first publish to the last TaskClassified seen on wr.routing.
Usage: python -m tests.bench.bench_capture [--tasks N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from tests.support.infra import resolve
from tests.support.pipeline import capture_pipeline, fresh_database
from workrouter.contracts.commands import CaptureTask
from workrouter.contracts.envelope import make_event
from workrouter.contracts.topics import capture_key

POLL_SECONDS = 0.05
DEPARTMENTS = [("invoice_dispute", "Finance"), ("credit_application", "Credit"), ("claim", "Claims"), ("lead", "Sales")]


def command(n: int, rng: random.Random) -> CaptureTask:
    """A realistic capture command."""
    worktype, department = rng.choice(DEPARTMENTS)
    attributes = {"department": department, "segment": rng.choice(["Gold", "Silver", "Bronze"]), "language": "en"}
    source = rng.choice(["crm", "bpm", "ticketing"])
    return CaptureTask(
        source=source, external_id=f"B-{n}", type=worktype, title=f"Work item {n}", attributes=attributes
    )


async def main(tasks: int) -> None:
    """Run once and print the figures."""
    infra = resolve()
    rng = random.Random(1)
    commands = [command(n, rng) for n in range(tasks)]
    async with fresh_database(infra.database_url) as url, capture_pipeline(infra.kafka_bootstrap, url) as p:
        start = time.perf_counter()
        for chunk in range(0, tasks, 500):
            await asyncio.gather(
                *(
                    p.producer.publish(
                        p.topics.capture, make_event(c, source="/bench", key=capture_key(c.source, c.external_id))
                    )
                    for c in commands[chunk : chunk + 500]
                )
            )
        published = time.perf_counter() - start
        last_report = start
        captured_at: float | None = None
        while len(p.routing.events) < tasks:
            await asyncio.sleep(POLL_SECONDS)
            if captured_at is None and len(p.tasks.of_type("workrouter.task.captured")) >= tasks:
                captured_at = time.perf_counter() - start
            if time.perf_counter() - last_report > 5:
                last_report = time.perf_counter()
                print(f"  ... {len(p.routing.events)}/{tasks} classified", flush=True)
        elapsed = time.perf_counter() - start
    print(f"published {tasks} capture commands in {published:.2f}s ({tasks / published:,.0f}/s)")
    if captured_at is not None:
        print(f"capture alone: {tasks} TaskCaptured after {captured_at:.2f}s = {tasks / captured_at:,.0f} tasks/s")
    print(f"capture + classify: {tasks} tasks in {elapsed:.2f}s = {tasks / elapsed:,.0f} tasks/s end to end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="capture + classify throughput over real Kafka")
    parser.add_argument("--tasks", type=int, default=5000)
    asyncio.run(main(parser.parse_args().tasks))
