"""Before the load and after it: consumer groups settled, then the run's checks once everything has drained.

Settled: every partition of every topic a service reads held by exactly one of its instances, each instance
holding some, every routing domain owned by exactly one router (each router owning some when there are
several), and all of it unchanged for a few seconds. A rebalance after that would rebuild a router's domains
in the measured window; the progress lines would show it as lag.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

import asyncpg
import httpx

from tests.bench.e2e_instances import CONSUMERS, LAG, OWNED, assignment_problems, ownership_problems
from tests.bench.e2e_integrity import Ledger, checks
from tests.bench.e2e_metrics import Scrape
from tests.bench.e2e_observe import Observer
from tests.bench.e2e_sink import CallbackSink
from tests.bench.e2e_stack import Stack
from tests.bench.e2e_step import scrape_instances
from workrouter.contracts.topics import ALL_TOPICS, TopicNames

STEADY_SECONDS = 3.0  # the assignment must stay the same this long
LOOKUP_CHUNK = 5000
MAX_FINAL_SECONDS = 600.0  # the longest the checks wait for a backlog to drain


def read_topics(topics: TopicNames) -> dict[str, dict[str, int]]:
    """Service -> {topic: partitions} of what it consumes in its own group(s)."""
    partitions = {topics.prefix + spec.name: spec.partitions for spec in ALL_TOPICS}
    reads = {
        "capture": (topics.capture,),
        "prioritiser": (topics.tasks, topics.deadletter),  # the dead letters in its poison group
        "router": (topics.routing,),
        "escalation": (topics.tasks,),
        "reporting": (topics.tasks, topics.agents),
        "notifier": (topics.tasks,),
    }
    return {service: {topic: partitions[topic] for topic in reads[service]} for service in CONSUMERS}


def _layout(scrapes: dict[str, Scrape]) -> str:
    """Who holds what: `router-1 routing[0,1,2] owns backoffice`."""
    lines = []
    for name, scrape in scrapes.items():
        held: dict[str, list[int]] = {}
        for labels, _ in scrape.samples.get(LAG, []):
            held.setdefault(labels["topic"].rsplit(".", 1)[-1], []).append(int(labels["partition"]))
        parts = [f"{topic}{sorted(p)}" for topic, p in sorted(held.items())]
        owned = sorted(labels["domain"] for labels, value in scrape.samples.get(OWNED, []) if value)
        lines.append(f"{name} {' '.join(parts)}" + (f" owns {', '.join(owned)}" if owned else ""))
    return "; ".join(lines)


async def wait_settled(
    stack: Stack, http: httpx.AsyncClient, topics: TopicNames, domains: Collection[str], timeout: float = 120.0
) -> tuple[float, str]:
    """Until the groups are settled and stay so for STEADY_SECONDS; (seconds it took, who holds what)."""
    start = time.monotonic()
    groups = read_topics(topics)
    steady_since: float | None = None
    last = ""
    while True:
        stack.check_alive()
        scrapes = await scrape_instances(stack, http, CONSUMERS)
        routers = {name: scrapes[name] for name in stack.of("router")}
        problems = assignment_problems(scrapes, groups) + ownership_problems(routers, domains)
        layout = _layout(scrapes)
        now = time.monotonic()
        if problems or layout != last:
            steady_since = None if problems else now
        elif steady_since is not None and now - steady_since >= STEADY_SECONDS:
            return now - start, layout
        last = layout
        if now - start > timeout:
            raise RuntimeError(f"consumer groups not settled after {timeout:.0f}s: {problems}; {layout}")
        await asyncio.sleep(0.5)


async def logged_ids(database_url: str, ids: Collection[str]) -> set[str]:
    """Which of `ids` the reporting service's event log holds."""
    found: set[str] = set()
    wanted = list(ids)
    conn = await asyncpg.connect(database_url)
    try:
        for i in range(0, len(wanted), LOOKUP_CHUNK):
            rows = await conn.fetch(
                "SELECT event_id FROM event_log WHERE event_id = ANY($1::text[])", wanted[i : i + LOOKUP_CHUNK]
            )
            found.update(row["event_id"] for row in rows)
    finally:
        await conn.close()
    return found


def pending(ledger: Ledger, sent: Collection[str], sink: CallbackSink, logged: set[str]) -> int:
    """What may still arrive: tasks not completed, callbacks not in, events not logged."""
    return (
        sum(1 for t in sent if not ledger.completed[t])
        + sum(1 for key in ledger.callbacks if not sink.keys.get(key))
        + len(ledger.ids - logged)
    )


async def final_checks(
    observer: Observer, sent: Collection[str], sink: CallbackSink, database_url: str, quiet: float
) -> dict[str, list[str]]:
    """The run's checks once every task is completed, every callback in and every event logged, or once
    nothing more has come for `quiet` seconds (a backlog after a rate not sustained still drains; then the
    checks say what is missing), at most MAX_FINAL_SECONDS."""
    start = last_progress = time.monotonic()
    ledger = observer.ledger
    logged: set[str] = set()
    left = -1
    while True:
        observer.check()
        logged |= await logged_ids(database_url, ledger.ids - logged)
        now, before, left = time.monotonic(), left, pending(ledger, sent, sink, logged)
        if left != before:
            last_progress = now
        if not left or now - last_progress > quiet or now - start > MAX_FINAL_SECONDS:
            return checks(ledger, sent, sink.keys, logged, observer.messages["deadletter"])
        await asyncio.sleep(1.0)
