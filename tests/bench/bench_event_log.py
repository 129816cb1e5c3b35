"""Benchmark: event-log ingest rate and the time of every report, at 1M and 10M events, on a real PostgreSQL.

Synthetic days of work: 300 agents log in and out (with breaks); each task is captured, classified,
queued, offered (one in ten RONA'd and offered again), accepted, wrapped up and completed, with a few
cancelled or escalated; about 8.5 events per task, 12,000 tasks a day. Events go through the same
path the reporting service uses (`EventLog.write`, batches of --batch, COPY + dedupe + current-state
fold). After each size is reached, every report runs twice over one day and once over the whole log
(interval 'total'; the one-day runs also per hour), and the best time is printed (not with --ingest-only).
With the ingest rate come the load average, the CPU per event of the writes in this process (building the
synthetic events is not counted) and of its PostgreSQL backends, and the cores other processes used
meanwhile: the machine is shared, so a rate alone says little.
Usage: python -m tests.bench.bench_event_log [--sizes 1000000,10000000] [--batch 2000] [--ingest-only] [--keep]
Everything lives in the PostgreSQL schema `wr_bench_reports` (dropped first, and at the end unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.bench.e2e_cpu import cpu_seconds, machine_busy_seconds
from tests.support.infra import resolve
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.reports.limits import ReportLimits
from workrouter.adapters.postgres.reports.runner import SPECS, run_report
from workrouter.contracts import task_events as te
from workrouter.contracts.agent_events import AgentPresenceChanged
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.domain.reporting.dimensions import Dimensions, QueueDimension
from workrouter.domain.reporting.request import ReportRequest

SCHEMA = "wr_bench_reports"
UNLIMITED = ReportLimits(statement_timeout_seconds=0, max_cost=0, max_rows=0)  # the bench times what the API refuses
START = datetime(2026, 1, 5, tzinfo=UTC)
TASKS_PER_DAY = 12_000
AGENTS = 300
QUEUES = ("finance", "claims", "credit", "support", "sales", "tech")
CODES = ("processed", "cross_sell", "need_follow_up", None)


def _event(payload: te.TaskEvent | AgentPresenceChanged, at: datetime, key: str) -> Envelope:
    return make_event(payload, source="/bench", key=key, time=at)


def day_events(day: int, rng: random.Random) -> Iterator[Envelope]:
    """One day's events, roughly in time order (agents first, then tasks through the day)."""
    base = START + timedelta(days=day)
    for a in range(AGENTS):
        agent = f"agent-{a:03d}"
        login = base + timedelta(hours=7, minutes=rng.randrange(120))
        yield _event(AgentPresenceChanged(agent_id=agent, domain="backoffice", presence="ready"), login, "backoffice")
        brk = login + timedelta(hours=4)
        pause = AgentPresenceChanged(agent_id=agent, domain="backoffice", presence="not_ready", reason="lunch")
        yield _event(pause, brk, "backoffice")
        ready = AgentPresenceChanged(agent_id=agent, domain="backoffice", presence="ready")
        yield _event(ready, brk + timedelta(minutes=30), "backoffice")
        off = AgentPresenceChanged(agent_id=agent, domain="backoffice", presence="offline")
        yield _event(off, login + timedelta(hours=8, minutes=30), "backoffice")
    for n in range(TASKS_PER_DAY):
        yield from task_events(f"d{day}-t{n}", base + timedelta(seconds=7 * 3600 + n * 3), rng)


def task_events(task: str, t: datetime, rng: random.Random) -> Iterator[Envelope]:
    """One task's life: ~8.5 events."""
    queue = rng.choice(QUEUES)
    kind = f"{queue}_case"
    due = t + timedelta(hours=rng.choice((1, 4, 8, 24)))
    yield _event(
        te.TaskCaptured(task_id=task, source="crm", external_id=task, type=kind, title=task, due_at=due), t, task
    )
    yield _event(te.TaskClassified(task_id=task, queue=queue, domain="backoffice", priority=100, rule="r",
                                   ruleset_version="v1", due_at=due), t, task)  # fmt: skip
    yield _event(te.TaskQueued(task_id=task, queue=queue, domain="backoffice", priority=100, sort_key="k"), t, task)
    if rng.random() < 0.03:
        yield _event(te.TaskCancelled(task_id=task, by="source", reason="withdrawn"), t + timedelta(minutes=5), task)
        return
    agent = f"agent-{rng.randrange(AGENTS):03d}"
    offered = t + timedelta(seconds=rng.expovariate(1 / 90))
    expires = offered + timedelta(seconds=30)
    if rng.random() < 0.1:
        yield _event(te.TaskOffered(task_id=task, offer_id=f"{task}-r", agent_id=agent, queue=queue, tier=0,
                                    offer_expires_at=expires), offered, task)  # fmt: skip
        yield _event(te.TaskOfferRevoked(task_id=task, offer_id=f"{task}-r", agent_id=agent, reason="rona"), expires,
                     task)  # fmt: skip
        offered = expires + timedelta(seconds=5)
        agent = f"agent-{rng.randrange(AGENTS):03d}"
    if rng.random() < 0.05:
        step = te.TaskEscalated(task_id=task, step="sla:std:50%", actions=["alert"])
        yield _event(step, offered, task)
    yield _event(te.TaskOffered(task_id=task, offer_id=f"{task}-o", agent_id=agent, queue=queue, tier=0,
                                offer_expires_at=offered + timedelta(seconds=30)), offered, task)  # fmt: skip
    accepted = offered + timedelta(seconds=rng.uniform(2, 25))
    yield _event(te.TaskAccepted(task_id=task, agent_id=agent, queue=queue), accepted, task)
    done = accepted + timedelta(seconds=rng.expovariate(1 / 600))
    code = rng.choice(CODES)
    yield _event(te.TaskWrapUpStarted(task_id=task, agent_id=agent, wrap_up_code=code, after_work_seconds=30), done,
                 task)  # fmt: skip
    yield _event(te.TaskCompleted(task_id=task, by="agent", agent_id=agent, wrap_up_code=code), done, task)


class CpuMeter:
    """CPU seconds of this process, of the pool's PostgreSQL backends and of the whole machine, and the load."""

    def __init__(self) -> None:
        self.backends: set[int] = set()

    async def register(self, conn: asyncpg.Connection) -> None:
        """Pool `init`: remember the backend serving this connection."""
        self.backends.add(await conn.fetchval("SELECT pg_backend_pid()"))

    def read(self) -> tuple[float, float, float, float]:
        """(own CPU s, backends' CPU s, machine busy s, load1) now."""
        own = os.times()
        backends = sum(cpu_seconds(pid) or 0.0 for pid in self.backends)
        return own.user + own.system, backends, machine_busy_seconds(), os.getloadavg()[0]

    def summary(self, before: tuple[float, float, float, float], events: int, wall: float, writing: float) -> str:
        """CPU per event of the writes (`writing` s in this process) and of PostgreSQL, other processes' cores
        and the load, since `before`."""
        own, backends, busy, load = self.read()
        own, backends, busy = own - before[0], backends - before[1], busy - before[2]
        others = max(busy - own - backends, 0.0) / wall
        per_event = f"writer {writing / events * 1e6:.1f} µs + PostgreSQL backend {backends / events * 1e6:.1f} µs"
        return f"CPU per event {per_event}; other processes {others:.2f} cores; load1 {before[3]:.2f} → {load:.2f}"


async def fill(
    log: EventLog, target: int, batch: int, state: dict[str, int], rng: random.Random
) -> tuple[float, float]:
    """Write whole days until the log holds at least `target` events; events per second of writing, and the
    CPU seconds this process spent in the writes."""
    pending: list[tuple[Envelope, None]] = []
    written, spent, cpu = 0, 0.0, 0.0

    async def write() -> None:
        nonlocal written, spent, cpu
        began, cpu_began = time.perf_counter(), time.process_time()
        written += await log.write(pending)
        spent += time.perf_counter() - began
        cpu += time.process_time() - cpu_began

    report_at = time.monotonic() + 10
    while state["events"] + written < target:
        for env in day_events(state["day"], rng):
            pending.append((env, None))
            if len(pending) >= batch:
                await write()
                pending = []
                if time.monotonic() > report_at:
                    report_at = time.monotonic() + 10
                    total = state["events"] + written
                    print(f"  ... {total:,} events ({written / spent:,.0f} events/s writing)", flush=True)
        state["day"] += 1
    if pending:
        await write()
    state["events"] += written
    return written / spent, cpu


async def time_reports(pool: asyncpg.Pool, days: int) -> None:
    """Each report over one day (total and hourly) and over the whole log; best of two for the day runs."""
    one_day = START + timedelta(days=days // 2)
    print(f"  {'report':<15} {'1 day total':>12} {'1 day hourly':>13} {f'{days} days total':>14}")
    for name in SPECS:
        cells = []
        runs = [
            (one_day, one_day + timedelta(days=1), "total", 2),
            (one_day, one_day + timedelta(days=1), "hour", 2),
            (START, START + timedelta(days=days), "total", 1),
        ]
        for start, end, interval, tries in runs:
            if name == "fairness" and interval != "total":
                cells.append("-")
                continue
            best = float("inf")
            for _ in range(tries):
                began = time.perf_counter()
                report = await run_report(pool, name, ReportRequest(start=start, end=end, interval=interval),
                                          schema=SCHEMA, limits=UNLIMITED)  # fmt: skip
                best = min(best, time.perf_counter() - began)
            cells.append(f"{best * 1000:,.0f} ms ({len(report.rows)})")
        print(f"  {name:<15} {cells[0]:>12} {cells[1]:>13} {cells[2]:>14}", flush=True)


async def main(args: argparse.Namespace) -> None:
    infra = resolve()
    meter = CpuMeter()
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4, init=meter.register)
    await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    log = EventLog(pool, schema=SCHEMA)
    await log.migrate()
    members = tuple(f"agent-{a:03d}" for a in range(AGENTS))
    queues = tuple(QueueDimension(q, "backoffice", (20, 60, 300, 900), members) for q in QUEUES)
    await log.sync_dimensions(Dimensions(queues, ("processed", "cross_sell", "need_follow_up")))
    rng = random.Random(7)
    state = {"events": 0, "day": 0}
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"filling the event log to {size:,} events (batches of {args.batch:,})", flush=True)
            events_before, before, began = state["events"], meter.read(), time.perf_counter()
            rate, writing = await fill(log, size, args.batch, state, rng)
            cpu = meter.summary(before, state["events"] - events_before, time.perf_counter() - began, writing)
            size_mb = await pool.fetchval(f"SELECT pg_total_relation_size('{SCHEMA}.event_log') / 1048576.0")
            tasks = await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.task_state")
            per_event = size_mb * 1048576 / state["events"]
            print(f"{state['events']:,} events ({tasks:,} tasks, {state['day']} days): ingest {rate:,.0f} events/s; "
                  f"event_log with indexes {size_mb:,.0f} MiB ({per_event:,.0f} B/event)")  # fmt: skip
            print(f"  {cpu}", flush=True)
            if args.ingest_only:
                continue
            await pool.execute(f"ANALYZE {SCHEMA}.event_log; ANALYZE {SCHEMA}.task_state")
            await time_reports(pool, state["day"])
    finally:
        if not args.keep:
            await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts to measure at")
    parser.add_argument("--batch", type=int, default=2000, help="events per write (the service's WR_REPORTING_BATCH)")
    parser.add_argument("--ingest-only", action="store_true", help="measure the ingest only, run no report")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
