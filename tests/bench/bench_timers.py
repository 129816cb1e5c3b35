"""Benchmark: the escalation service's durable timers on a real PostgreSQL, with 1,000,000 pending.

Prints the save_many load rate and the table + index size; this process's RSS before and after the
timer loop ran over the pending timers (it never holds them); fire lateness (p50/p99/max) for timers
due over the next ~20 s, half of them saved while the loop runs (with a poke); and how long a
restarted process takes to its first fire and to drain a backlog of overdue timers.
Usage: python -m tests.bench.bench_timers [--timers N] [--due-soon N] [--backlog N] [--keep]
Everything lives in the PostgreSQL schema `wr_bench_timers` (dropped first, and at the end unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.support.infra import resolve
from tests.support.wait import wait_until
from workrouter.adapters.postgres.escalation_store import PostgresEscalationStore
from workrouter.contracts.envelope import utcnow
from workrouter.domain.escalation.record import TaskRecord
from workrouter.domain.escalation.timer import Timer
from workrouter.services.escalation.timer_loop import TimerLoop

SCHEMA = "wr_bench_timers"
FAR_WINDOW = timedelta(days=30)
Item = tuple[str, dict[str, Any] | None, list[Timer]]
RECORD = TaskRecord(  # what the escalation service keeps per task, as JSON (about 430 bytes)
    "template",
    state="queued",
    worktype="invoice_dispute",
    first_seen=datetime(2026, 11, 23, 9, tzinfo=UTC),
    queue="finance",
    domain="backoffice",
    priority=400,
    sla_seconds=28_800,
    sla_calendar="emea-office",
    queue_since=datetime(2026, 11, 23, 9, 0, 1, tzinfo=UTC),
).to_json()


def rss_mb() -> float:
    """This process's resident set size in MiB (VmRSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"  ... {message}", file=sys.stderr, flush=True)


def far_items(first: int, count: int, base: datetime, rng: random.Random) -> Iterator[Item]:
    """`count` timers for tasks from number `first` on: two per task (sla, expiry), due within 30 days of `base`."""
    window = FAR_WINDOW.total_seconds()
    for n in range(first // 2, (first + count + 1) // 2):
        task_id = f"far-{n:07d}"
        sla, expiry = (base + timedelta(seconds=rng.uniform(0, window)) for _ in range(2))
        timers = [
            Timer(task_id, "sla", "warn/v3", sla, {"step": "warn", "policy": "finance-sla", "index": 0}),
            Timer(task_id, "expiry", f"expiry@{expiry.isoformat()}", expiry),
        ][: first + count - 2 * n]
        yield task_id, RECORD | {"task_id": task_id, "due_at": sla.isoformat()}, timers


def one_timer_each(prefix: str, dues: list[datetime]) -> list[Item]:
    """One task per due time, each with one sla timer."""
    return [(f"{prefix}-{i}", {"version": 1}, [Timer(f"{prefix}-{i}", "sla", "v1", due)]) for i, due in enumerate(dues)]


@dataclass
class Firings:
    """A `fire` callback that records each timer's lateness (fire time minus due time)."""

    lateness_ms: list[float] = field(default_factory=list)
    first: float | None = None
    blocks: int = 0

    async def __call__(self, timers: list[Timer]) -> None:
        now = utcnow()
        self.first = self.first or time.perf_counter()
        self.blocks += 1
        self.lateness_ms.extend((now - t.due_at).total_seconds() * 1000 for t in timers)


async def load(store: PostgresEscalationStore, total: int, chunk: int) -> tuple[float, float]:
    """Save `total` far-future timers, `chunk` per save_many call; return (seconds in save_many, making items)."""
    rng, base = random.Random(7), utcnow() + timedelta(hours=1)
    saving = making = 0.0
    for first in range(0, total, chunk):
        began = time.perf_counter()
        items = list(far_items(first, min(chunk, total - first), base, rng))
        made = time.perf_counter()
        await store.save_many(items)
        saving += time.perf_counter() - made
        making += made - began
        if (first // chunk) % 5 == 4 or first + chunk >= total:
            progress(f"{min(first + chunk, total):,} timers saved, {saving:.1f}s in save_many")
    return saving, making


async def query_latency(store: PostgresEscalationStore, rounds: int = 200) -> tuple[float, float]:
    """p50 of next_due and of an empty firing block (nothing due), in ms."""
    next_due, firing = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        await store.next_due()
        next_due.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        async with store.firing(utcnow(), 500):
            pass
        firing.append((time.perf_counter() - began) * 1000)
    return statistics.median(next_due), statistics.median(firing)


async def lateness(store: PostgresEscalationStore, due_soon: int, window: float) -> tuple[Firings, float]:
    """Fire `due_soon` timers due over the next `window` s, half saved beforehand, half while the loop runs."""
    rng = random.Random(11)
    now = utcnow()
    early = sorted(now + timedelta(seconds=rng.uniform(1.0, window)) for _ in range(due_soon // 2))
    await store.save_many(one_timer_each("soon", early))
    fired = Firings()
    loop = TimerLoop(store, fired, clock=utcnow)
    task = asyncio.create_task(loop.run())
    start = time.perf_counter()
    late, batch = due_soon - len(early), 50
    for first in range(0, late, batch):  # paced saves of timers due 0.1..1 s later, each batch poked
        dues = [utcnow() + timedelta(seconds=rng.uniform(0.1, 1.0)) for _ in range(min(batch, late - first))]
        await store.save_many(one_timer_each(f"live{first}", dues))
        loop.poke(min(dues))
        await asyncio.sleep(max(window - 1.5, 0.1) * batch / late)
    await wait_until(lambda: len(fired.lateness_ms) >= due_soon, timeout=window + 120, what="the due-soon timers")
    await wait_until(lambda: loop.planned_wake is not None, timeout=60, what="the last firing block committed")
    elapsed = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return fired, elapsed


async def recovery(url: str, backlog: int) -> tuple[float, float, float]:
    """Overdue timers saved while no loop runs; a fresh pool, store and loop: seconds to first fire, to drained."""
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        rng, now = random.Random(13), utcnow()
        dues = [now - timedelta(seconds=rng.uniform(0, 60)) for _ in range(backlog)]
        await PostgresEscalationStore(pool, schema=SCHEMA).save_many(one_timer_each("backlog", dues))
    fired = Firings()
    start = time.perf_counter()
    async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:  # the restarted process
        store = PostgresEscalationStore(pool, schema=SCHEMA)
        await store.migrate()
        loop = TimerLoop(store, fired, clock=utcnow)
        task = asyncio.create_task(loop.run())
        await wait_until(lambda: len(fired.lateness_ms) >= backlog, timeout=300, what="the backlog fired")
        await wait_until(lambda: loop.planned_wake is not None, timeout=60, what="the last firing block committed")
        drained = time.perf_counter() - start
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert fired.first is not None
    return fired.first - start, drained, backlog / (drained - (fired.first - start))


async def sizes(pool: asyncpg.Pool) -> dict[str, float]:
    """Sizes in MiB of the timer table with its indexes, its indexes alone, and the task table."""
    row = await pool.fetchrow(
        f"SELECT pg_total_relation_size('{SCHEMA}.escalation_timers') AS timers,"
        f" pg_indexes_size('{SCHEMA}.escalation_timers') AS indexes,"
        f" pg_relation_size('{SCHEMA}.escalation_timers_pending_due') AS due_index,"
        f" pg_total_relation_size('{SCHEMA}.escalation_tasks') AS tasks"
    )
    assert row is not None
    return {name: value / 2**20 for name, value in row.items()}


def quantiles(values: list[float]) -> str:
    """p50, p99 and max."""
    ordered = sorted(values)
    return f"p50 {statistics.median(ordered):.1f}  p99 {ordered[int(len(ordered) * 0.99)]:.1f}  max {ordered[-1]:.1f}"


Figures = list[tuple[str, str]]


async def loading(pool: asyncpg.Pool, store: PostgresEscalationStore, args: argparse.Namespace) -> Figures:
    """Load the far-future timers; their load rate, sizes, plan and query latency."""
    progress(f"loading {args.timers:,} timers due over 30 days (chunks of {args.chunk:,})")
    seconds, making = await load(store, args.timers, args.chunk)
    await pool.execute(f"VACUUM (ANALYZE) {SCHEMA}.escalation_timers, {SCHEMA}.escalation_tasks")  # steady state
    size = await sizes(pool)
    plan = await store.firing_plan(utcnow(), 500)
    next_due_ms, firing_ms = await query_latency(store)
    return [
        ("load through save_many", f"{seconds:.1f} s = {args.timers / seconds:,.0f} timers/s"),
        ("  making the items (not counted)", f"{making:.1f} s"),
        ("timers table + indexes", f"{size['timers']:.0f} MiB (indexes {size['indexes']:.0f})"),
        ("  of which the pending-due index", f"{size['due_index']:.0f} MiB"),
        ("task records table + index", f"{size['tasks']:.0f} MiB"),
        ("firing query plan", " / ".join(line.strip().split("  (")[0] for line in plan.splitlines())),
        ("next_due / empty firing block p50", f"{next_due_ms:.2f} ms / {firing_ms:.2f} ms"),
    ]


async def checkpoints(pool: asyncpg.Pool) -> int:
    """Checkpoints PostgreSQL has started so far (a running one slows every commit)."""
    started: int = await pool.fetchval("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
    return started


async def firing(pool: asyncpg.Pool, store: PostgresEscalationStore, args: argparse.Namespace, since: int) -> Figures:
    """Run the loop over the due-soon timers, then restart over a backlog; lateness, memory, recovery."""
    gc.collect()
    before = rss_mb()
    progress(f"firing {args.due_soon:,} timers due over ~{args.window:.0f} s with {args.timers:,} pending")
    fired, elapsed = await lateness(store, args.due_soon, args.window)
    gc.collect()
    after, checkpointed = rss_mb(), await checkpoints(pool) - since
    progress(f"restart with a backlog of {args.backlog:,} overdue timers")
    first, drained, rate = await recovery(args.url, args.backlog)
    counts = await store.counts()
    return [
        ("RSS before / after the loop ran", f"{before:.0f} MiB / {after:.0f} MiB"),
        ("fire lateness ms", quantiles(fired.lateness_ms)),
        ("  checkpoints since the load began", f"{checkpointed} (its WAL triggers them; one running slows commits)"),
        ("due-soon timers fired", f"{args.due_soon:,} in {elapsed:.1f} s = {args.due_soon / elapsed:,.0f} fires/s"),
        ("  firing blocks (batch 500)", f"{fired.blocks:,}"),
        ("restart: first fire after", f"{first * 1000:.0f} ms (new pool + migrate + loop)"),
        ("restart: backlog drained after", f"{drained:.2f} s = {rate:,.0f} fires/s"),
        ("left at the end", f"{counts.pending:,} pending, {counts.fired:,} fired"),
    ]


async def run(args: argparse.Namespace) -> None:
    """Every phase, then the table of figures."""
    url = args.url = args.url or resolve().database_url
    figures: Figures = [("RSS at start", f"{rss_mb():.0f} MiB")]
    async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
        await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        store = PostgresEscalationStore(pool, schema=SCHEMA)
        await store.migrate()
        try:
            since = await checkpoints(pool)
            figures += await loading(pool, store, args)
            figures += await firing(pool, store, args, since)
        finally:
            if not args.keep:
                await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    width = max(len(name) for name, _ in figures)
    print(f"\ndurable timers on PostgreSQL ({url.rsplit('@', 1)[-1]}), schema {SCHEMA}")
    for name, value in figures:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timers", type=int, default=1_000_000, help="pending timers due over the next 30 days")
    parser.add_argument("--due-soon", type=int, default=20_000, help="timers due over the next ~20 s")
    parser.add_argument("--window", type=float, default=20.0, help="seconds the due-soon timers spread over")
    parser.add_argument("--backlog", type=int, default=10_000, help="overdue timers a restarted process finds")
    parser.add_argument("--chunk", type=int, default=250_000, help="timers per save_many call (one transaction)")
    parser.add_argument("--url", default=None, help="PostgreSQL URL (default: the local infra, started if needed)")
    parser.add_argument("--keep", action="store_true", help=f"leave schema {SCHEMA} in place at the end")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
