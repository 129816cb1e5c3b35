"""Benchmark: the whole pipeline end to end, every service its own process, over real Kafka, Redis and PostgreSQL.

Starts capture, prioritiser, router, escalation, reporting, notifier and api (fresh topic prefix, Redis
prefix and database), logs in simulated agents with room to spare, offers capture commands on wr.capture
at fixed rates (warm-up, measured window, drain), and prints per rate: first offers per second, capture→offer
latency (p50/p99), events and Kafka messages per task, consumer lag and CPU per process. Then raw aiokafka
produce→consume on the same broker with messages of the pipeline's average size, and the ratio.
Usage: python -m tests.bench.bench_e2e [--rates 4,6,8,...] [--rate 8] [--seconds 30] [--agents 60] [--profile router]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import redis.asyncio as redis
from aiokafka.admin import AIOKafkaAdminClient

from tests.bench.e2e_config import write_config
from tests.bench.e2e_observe import Observer
from tests.bench.e2e_profile import print_profile
from tests.bench.e2e_raw import RawFigures, raw_kafka
from tests.bench.e2e_report import print_final, print_idle, print_step
from tests.bench.e2e_sink import CallbackSink
from tests.bench.e2e_stack import SERVICES, Stack
from tests.bench.e2e_step import Run, StepFigures, idle_cpu, step
from tests.bench.e2e_traffic import Agents, Publisher
from tests.support.infra import Infra, resolve
from tests.support.pipeline import fresh_database
from tests.support.wait import wait_until
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.contracts.topics import TopicNames

# The default ladder: rates rise until one is not sustained (then x1.5 past its end), so the figure is the
# ceiling, not the top of the ladder; 150/s is on it for the latency point.
RAMP = (8.0, 16.0, 32.0, 48.0, 64.0, 96.0, 128.0, 150.0, 200.0, 300.0, 400.0, 600.0, 800.0)
MAX_RATE = 10_000.0


def ramp() -> Iterator[float]:
    """The default offered rates, tasks/s: RAMP, then 1.5 times the last, up to MAX_RATE."""
    yield from RAMP
    rate = RAMP[-1]
    while rate * 1.5 <= MAX_RATE:
        rate *= 1.5
        yield rate


async def sweep(args: argparse.Namespace, infra: Infra, run_id: str, logs: Path) -> tuple[list[StepFigures], int]:
    """Start everything, run each rate until one is not sustained, clean up; returns the figures and the agents."""
    sink = CallbackSink()
    await sink.start()
    client = redis.from_url(infra.redis_url)
    figures: list[StepFigures] = []
    async with fresh_database(infra.database_url) as database_url:
        config = write_config(logs / "config", args.agents, args.capacity, sink.url)
        stack = Stack(infra, database_url, config.folder, logs, run_id, profile=args.profile)
        topics = TopicNames(stack.prefix)
        await KafkaBus(infra.kafka_bootstrap, topics=topics.specs(), deadletter_topic=topics.deadletter).create_topics()
        publisher = Publisher(infra.kafka_bootstrap)
        agents = Agents(
            publisher, topics, RedisAgentStore(client, stack.redis_prefix), config.agents, work_seconds=args.work
        )
        observer = Observer(infra.kafka_bootstrap, topics, agents.react)
        stop = asyncio.Event()
        heartbeats: asyncio.Task[None] | None = None
        try:
            stack.start()
            print(f"started 7 services (logs in {logs}); waiting for them to serve /metrics ...", flush=True)
            print(f"all services up after {await stack.wait_ready():.1f}s", flush=True)
            await publisher.start()
            await observer.start()
            heartbeats = asyncio.create_task(agents.heartbeats(stop))
            await agents.ready_all()
            everyone = set(config.agents)
            await wait_until(lambda: everyone <= observer.ready, timeout=90, interval=0.2, what="agents ready")
            print(f"{len(everyone)} agents ready (capacity {args.capacity} each)", flush=True)
            idle, stall = await idle_cpu(stack, args.idle)
            print_idle(idle, stall, args.idle)
            async with httpx.AsyncClient(timeout=5) as http:
                figures = await run_rates(args, Run(run_id, stack, topics, publisher, observer, sink, http, idle))
        finally:
            stop.set()
            if heartbeats is not None:
                await heartbeats
            await observer.stop()
            await publisher.stop()
            stack.stop()
            if args.profile:
                print_profile(args.profile, stack.profile_dump)
            await _cleanup(infra, client, stack.redis_prefix, topics)
            await sink.stop()
    return figures, len(config.agents)


async def run_rates(args: argparse.Namespace, run: Run) -> list[StepFigures]:
    """Each rate in turn, until one is not sustained; then say what went wrong on the way, if anything."""
    figures: list[StepFigures] = []
    for rate in args.rates or ramp():
        print(f"rate {rate:g}/s: {args.warmup:g}s warm-up, {args.seconds:g}s measured", flush=True)
        figures.append(await step(run, rate, args.seconds, warmup=args.warmup, drain_seconds=args.drain, slo=args.slo))
        print_step(figures[-1])
        if not figures[-1].sustained:
            print(f"  not sustained at {rate:g}/s: stopping the sweep here", flush=True)
            break
    if run.observer.messages["deadletter"]:
        print(f"dead letters on {run.topics.deadletter}: {run.observer.messages['deadletter']}", flush=True)
    if run.publisher.errors:
        print(f"publish errors: {len(run.publisher.errors)}, first: {run.publisher.errors[0]}", flush=True)
    return figures


async def _cleanup(infra: Infra, client: redis.Redis, redis_prefix: str, topics: TopicNames) -> None:
    """Delete the run's Redis keys and topics."""
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}:*", count=1000)]
    if keys:
        await client.unlink(*keys)
    await client.aclose()
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        with contextlib.suppress(Exception):
            await admin.delete_topics([spec.name for spec in topics.specs()])
    finally:
        await admin.close()


async def main(args: argparse.Namespace) -> None:
    """Run the sweep, then raw Kafka, and print the figures."""
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    assert current is not None
    loop.add_signal_handler(signal.SIGTERM, current.cancel)  # clean up on SIGTERM as on Ctrl-C
    # aiokafka logs transient errors it retries itself (a new topic's metadata or leader still propagating)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    infra = resolve()
    run_id = uuid.uuid4().hex[:8]
    logs = Path(tempfile.mkdtemp(prefix=f"bench-e2e-{run_id}-"))
    print(f"run {run_id}; Kafka {infra.kafka_bootstrap}; load average {_load()}", flush=True)
    started = time.monotonic()
    figures, agents = await sweep(args, infra, run_id, logs)
    if not figures:
        return
    size = round(max(f.message_bytes for f in figures))
    print(f"raw aiokafka: {args.raw_messages} messages of {size} bytes on the same broker ...", flush=True)
    raw: RawFigures = await raw_kafka(infra.kafka_bootstrap, size, args.raw_messages)
    print_final(figures, raw, agents, args, time.monotonic() - started)
    if not args.keep_logs:
        shutil.rmtree(logs, ignore_errors=True)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, help="one offered load, tasks/s (instead of --rates)")
    parser.add_argument(
        "--rates", help="offered loads to sweep, tasks/s, up to the first one not sustained (default: "
        f"{', '.join(f'{r:g}' for r in RAMP)}, then x1.5 each, until one is not sustained)",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=30, help="measured window per rate (default 30)")
    parser.add_argument("--warmup", type=float, default=10, help="warm-up per rate, seconds (default 10)")
    parser.add_argument("--idle", type=float, default=10, help="idle CPU baseline before the load, s (default 10)")
    parser.add_argument("--drain", type=float, default=30, help="longest wait for the window's tasks (default 30)")
    parser.add_argument("--slo", type=float, default=1.0, help="p99 sent→offer of a sustained rate, s (default 1)")
    parser.add_argument("--agents", type=int, default=60, help="simulated agents, all domains (default 60)")
    parser.add_argument("--capacity", type=int, default=10, help="work items each agent holds at once (default 10)")
    parser.add_argument("--work", type=float, default=0.5, help="seconds an agent works a task, ±50 %% (default 0.5)")
    parser.add_argument("--raw-messages", type=int, default=50_000, help="messages for raw Kafka (default 50000)")
    parser.add_argument("--profile", choices=SERVICES, help="run this service under cProfile and summarise it")
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs and config")
    args = parser.parse_args(argv)
    args.rates = [args.rate] if args.rate else [float(r) for r in args.rates.split(",")] if args.rates else None
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
