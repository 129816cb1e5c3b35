"""Benchmark: the whole pipeline end to end, every service its own process, over real Kafka, Redis and PostgreSQL.

Starts capture, prioritiser, router, escalation, reporting, notifier and api (fresh topic prefix, Redis
prefix and database), logs in simulated agents with room to spare, offers capture commands on wr.capture
at fixed rates (warm-up, measured window, drain), and prints per rate: first offers per second, capture→offer
latency (p50/p99), events and Kafka messages per task, consumer lag and CPU per process. Then raw aiokafka
produce→consume on the same broker with messages of the pipeline's average size, and the ratio.
With `--instances N`, N processes of every service that consumes Kafka share its consumer group (the api runs
once); `--compare-instances 1,2` runs the sweep for each count and ends with `bench scale:`. Every run ends with
its checks: nothing lost, none held by two agents, every callback delivered once, every event in the event log.
Usage: python -m tests.bench.bench_e2e [--rates 4,6,8,...] [--rate 8] [--seconds 30] [--agents 60] [--profile router]
       [--instances 2 | --compare-instances 1,2 [--ladder fine]]
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as redis
from aiokafka.admin import AIOKafkaAdminClient

from tests.bench.e2e_args import offered_rates, parse_args
from tests.bench.e2e_config import write_config
from tests.bench.e2e_instances import scale_line
from tests.bench.e2e_integrity import Ledger
from tests.bench.e2e_memory import RssSampler
from tests.bench.e2e_observe import Observer
from tests.bench.e2e_profile import print_profile
from tests.bench.e2e_raw import RawFigures, raw_kafka
from tests.bench.e2e_report import ceiling, print_checks, print_final, print_idle, print_step
from tests.bench.e2e_settle import final_checks, wait_settled
from tests.bench.e2e_sink import CallbackSink
from tests.bench.e2e_stack import Stack
from tests.bench.e2e_step import Run, StepFigures, idle_cpu, step
from tests.bench.e2e_traffic import Agents, Publisher
from tests.support.infra import Infra, resolve
from tests.support.pipeline import fresh_database
from tests.support.wait import wait_until
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.contracts.topics import TopicNames


@dataclass
class Sweep:
    """What one sweep gives: the figures per rate, the agents, and the run's checks."""

    instances: int
    figures: list[StepFigures] = field(default_factory=list)
    agents: int = 0
    checks: dict[str, list[str]] = field(default_factory=dict)


async def sweep(args: argparse.Namespace, infra: Infra, run_id: str, logs: Path, instances: int) -> Sweep:
    """Start everything (`instances` processes of each consuming service), wait for the consumer groups to
    settle, run each rate until one is not sustained, check the run, clean up."""
    sink = CallbackSink()
    await sink.start()
    client = redis.from_url(infra.redis_url)
    result = Sweep(instances)
    async with fresh_database(infra.database_url) as database_url:
        config = write_config(logs / "config", args.agents, args.capacity, sink.url)
        stack = Stack(infra, database_url, config.folder, logs, run_id, instances=instances, profile=args.profile)
        topics = TopicNames(stack.prefix)
        await KafkaBus(infra.kafka_bootstrap, topics=topics.specs(), deadletter_topic=topics.deadletter).create_topics()
        publisher = Publisher(infra.kafka_bootstrap)
        agents = Agents(
            publisher, topics, RedisAgentStore(client, stack.redis_prefix), config.agents, work_seconds=args.work
        )
        observer = Observer(infra.kafka_bootstrap, topics, agents.react, Ledger(config.subscriptions))
        stop = asyncio.Event()
        heartbeats: asyncio.Task[None] | None = None
        try:
            stack.start()
            print(
                f"started {len(stack.names)} service processes (logs in {logs}); waiting for /metrics ...", flush=True
            )
            print(f"all services up after {await stack.wait_ready():.1f}s", flush=True)
            async with httpx.AsyncClient(timeout=5) as http:
                took, layout = await wait_settled(stack, http, topics, config.domains)
                print(f"consumer groups settled after {took:.1f}s: {layout}", flush=True)
                await publisher.start()
                await observer.start()
                heartbeats = asyncio.create_task(agents.heartbeats(stop))
                await agents.ready_all()
                everyone = set(config.agents)
                await wait_until(lambda: everyone <= observer.ready, timeout=90, interval=0.2, what="agents ready")
                print(f"{len(everyone)} agents ready (capacity {args.capacity} each)", flush=True)
                idle, stall = await idle_cpu(stack, args.idle)
                print_idle(idle, stall, args.idle)
                run = Run(run_id, stack, topics, publisher, observer, sink, http, idle)
                result.figures = await run_rates(args, run)
                print("checking the run: every task completed, callback delivered and event logged ...", flush=True)
                quiet = max(args.drain, 30.0)
                result.checks = await final_checks(observer, list(observer.tasks), sink, database_url, quiet)
                print_checks(result.checks, observer.ledger, len(observer.tasks))
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
    result.agents = len(config.agents)
    return result


async def run_rates(args: argparse.Namespace, run: Run) -> list[StepFigures]:
    """Each rate in turn, until one is not sustained; then say what went wrong on the way, if anything."""
    figures: list[StepFigures] = []
    for rate in offered_rates(args):
        print(f"rate {rate:g}/s: {args.warmup:g}s warm-up, {args.seconds:g}s measured", flush=True)
        sampler = RssSampler(run.stack.pids()) if args.soak else None
        if sampler is not None:
            sampler.start()
        figures.append(await step(run, rate, args.seconds, warmup=args.warmup, drain_seconds=args.drain, slo=args.slo))
        print_step(figures[-1])
        if sampler is not None:
            samples = await sampler.stop()
            print("\n".join(samples.table()))
            print(samples.summary(), flush=True)
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
    """Run the sweep (once per instance count with --compare-instances), then raw Kafka, and print the figures;
    exit 1 when a run lost or doubled something."""
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
    counts = args.compare_instances or [args.instances]
    sweeps: list[Sweep] = []
    for n in counts:
        folder, sweep_id = (logs, run_id) if len(counts) == 1 else (logs / f"instances-{n}", f"{run_id}-{n}")
        folder.mkdir(exist_ok=True)
        print(f"== {n} instance(s) of each consuming service (run {sweep_id}) ==", flush=True)
        sweeps.append(await sweep(args, infra, sweep_id, folder, n))
    measured = [f for s in sweeps for f in s.figures]
    if measured:
        size = round(max(f.message_bytes for f in measured))
        print(f"raw aiokafka: {args.raw_messages} messages of {size} bytes on the same broker ...", flush=True)
        raw: RawFigures = await raw_kafka(infra.kafka_bootstrap, size, args.raw_messages)
        for s in (s for s in sweeps if s.figures):
            print_final(s.figures, raw, s.agents, args, time.monotonic() - started, instances=s.instances)
        if len(counts) > 1:
            print(scale_line({s.instances: ceiling(s.figures) for s in sweeps}))
    if not args.keep_logs:
        shutil.rmtree(logs, ignore_errors=True)
    if any(problems for s in sweeps for problems in s.checks.values()):
        raise SystemExit("a run lost or doubled something: see its checks above")


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
