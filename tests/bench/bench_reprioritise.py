"""Benchmark of one reprioritisation interval with 1M queued tasks: band timers against rescoring everything.

    python -m tests.bench.bench_reprioritise [--tasks 1000000] [--intervals 60,900,3600,86400] [--check 8]

The engine of bench_router_engine (10 queues over 50 skills, three tiers, 10,000 agents) is filled
with N waiting tasks: due times uniform over the next 14 days (85 %) or none (15 %), base priority
0..1000, a fifth with a business value, enqueued up to two days ago. No agent is ready, so nothing
is offered and only reprioritisation is measured. For each interval length a fresh engine, filled
at T0, is advanced once to T0 + interval: printed are the wall time of `engine.advance`, how many
tasks crossed into the urgent band, how many were touched (re-filed by a timer: tier widening too) and
the cost per task touched. After each advance the top of a few buckets is checked against a
brute-force ranking by `priority_at(now)`, ties by enqueue time (OK/FAIL). For contrast, the naive
method rescores all N tasks with `priority_at` (and with the formula inlined on floats) and
heapifies each bucket again, every interval whatever its length. Memory per queued task is the RSS
growth while filling the first engine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from tests.bench.bench_router_engine import QUEUES, T0, build, rss_bytes
from workrouter.domain.priority import PriorityPolicy, priority_at, static_score
from workrouter.domain.routing.actions import TaskSpec
from workrouter.domain.routing.buckets import Bucket
from workrouter.domain.routing.engine import Engine

DAY = 86_400.0
TOLERANCE = 1e-6  # points: how far float rounding of datetimes may move a priority
# (base, business_value, due_at, due as datetime, enqueued_at, seq, task_id): what a naive router rescores
Row = tuple[int, float, float | None, datetime | None, float, int, str]


def log(message: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


def specs(count: int, seed: int, due_days: float) -> Iterator[TaskSpec]:
    """The queued tasks, the same for the same seed (generated again rather than kept while measuring memory)."""
    rng = random.Random(seed)
    queues = sorted(QUEUES)
    for n in range(count):
        queue = queues[rng.randrange(len(queues))]
        skill = QUEUES[queue][rng.randrange(5)]
        due = T0 + rng.uniform(0.0, due_days * DAY) if rng.random() < 0.85 else None
        value = rng.uniform(0.0, 10_000.0) if rng.random() < 0.2 else 0.0
        needs = ((skill, rng.choice((0, 40))),)
        yield TaskSpec(f"t{n}", queue, needs, rng.randrange(0, 1001), value, due, T0 - rng.uniform(0.0, 2 * DAY))


def fill(args: argparse.Namespace) -> tuple[Engine, float, float]:
    """A fresh engine with the waiting tasks and only offline agents: (engine, tasks/s, RSS bytes per task)."""
    engine, _ = build(args.agents, random.Random(args.seed))
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    for spec in specs(args.tasks, args.seed, args.due_days):
        engine.enqueue(spec, T0)
    rate = args.tasks / (time.perf_counter() - started)
    gc.collect()
    return engine, rate, (rss_bytes() - before) / args.tasks


def facts(engine: Engine, args: argparse.Namespace) -> dict[str, Row]:
    """Every task's facts as the brute force and the naive method need them."""
    out: dict[str, Row] = {}
    for spec in specs(args.tasks, args.seed, args.due_days):
        due_dt = None if spec.due_at is None else datetime.fromtimestamp(spec.due_at, UTC)
        seq = engine.tasks[spec.task_id].seq
        out[spec.task_id] = (spec.base, spec.business_value, spec.due_at, due_dt, spec.enqueued_at, seq, spec.task_id)
    return out


def naive_library(groups: list[list[Row]], now: float) -> float:
    """Seconds to rescore every task with priority_at(now) and heapify every bucket again."""
    now_dt = datetime.fromtimestamp(now, UTC)
    started = time.perf_counter()
    for rows in groups:
        heap = [(-priority_at(b, v, dd, now_dt), enq, seq, tid) for b, v, _, dd, enq, seq, tid in rows]
        heapq.heapify(heap)
    return time.perf_counter() - started


def naive_inline(groups: list[list[Row]], now: float, policy: PriorityPolicy) -> float:
    """The same with the formula inlined on float seconds: the cheapest a full rescoring can be in Python."""
    rate, horizon = policy.urgency_per_hour, policy.horizon_hours
    started = time.perf_counter()
    for rows in groups:
        heap = []
        for b, v, due, _, enq, seq, tid in rows:
            score = static_score(b, v, policy)
            if due is not None:
                score += rate * max(0.0, horizon - (due - now) / 3600.0)
            heap.append((-score, enq, seq, tid))
        heapq.heapify(heap)
    return time.perf_counter() - started


def check(engine: Engine, known: dict[str, Row], now: float, buckets: int, top: int) -> tuple[int, int]:
    """The top `top` of the largest and of random buckets against a brute-force ranking: (buckets ok, checked)."""
    live = sorted((b for b in engine.buckets.values() if b.size > 0), key=lambda b: -b.size)
    chosen: list[Bucket] = live[: max(1, buckets // 2)]
    chosen += random.Random(int(now)).sample(live[len(chosen) :], min(len(live) - len(chosen), buckets - len(chosen)))
    members: dict[int, list[str]] = {id(b): [] for b in chosen}
    for task in engine.tasks.values():
        for bucket in task.buckets:
            if id(bucket) in members:
                members[id(bucket)].append(task.task_id)
    now_dt, hours, rate = datetime.fromtimestamp(now, UTC), now / 3600.0, engine.policy.urgency_per_hour
    ok = 0
    for bucket in chosen:
        rows = [known[task_id] for task_id in members[id(bucket)]]
        truth = [(priority_at(b, v, dd, now_dt), enq, seq, tid) for b, v, _, dd, enq, seq, tid in rows]
        truth.sort(key=lambda r: (-r[0], r[1], r[2]))
        head = bucket.best(hours, rate)
        ranked = bucket.ranked(hours, rate, top)
        good = head is not None and head[3] is ranked[0][3] and len(ranked) == min(top, len(truth))
        for (score, _, _, task), expected in zip(ranked, truth, strict=False):
            # equal up to float rounding of the datetimes: a near-tie may swap two neighbours
            same = task.task_id == expected[3] or any(
                abs(r[0] - expected[0]) <= TOLERANCE and r[3] == task.task_id for r in truth
            )
            good = good and same and abs(score - expected[0]) <= TOLERANCE
        ok += good
    return ok, len(chosen)


def run_interval(args: argparse.Namespace, interval: float, known: dict[str, Row]) -> dict[str, float]:
    """Fill a fresh engine, advance it once by `interval`, measure and check the order."""
    engine, _, _ = fill(args)
    now = T0 + interval
    urgent_before = sum(t.is_urgent for t in engine.tasks.values())
    due = sum(1 for timer in engine._timers if timer[0] <= now)
    gc.collect()
    started = time.perf_counter()
    actions = engine.advance(now)
    seconds = time.perf_counter() - started
    moved = sum(t.is_urgent for t in engine.tasks.values()) - urgent_before
    log(f"  advanced in {seconds * 1e3:,.1f} ms, {len(actions)} actions; checking the order ...")
    ok, checked = check(engine, known, now, args.check, args.top)
    return {"interval": interval, "seconds": seconds, "moved": moved, "due": due, "ok": ok, "checked": checked}


def label(seconds: float) -> str:
    """60 -> '1 min', 86400 -> '1 day'."""
    for unit, size in (("day", DAY), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:g} s"


def main() -> None:
    """Measure each interval on a fresh engine, then the naive method, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--intervals", default="60,900,3600,86400", help="seconds, comma-separated")
    parser.add_argument("--agents", type=int, default=10_000, help="all offline")
    parser.add_argument("--due-days", type=float, default=14.0)
    parser.add_argument("--check", type=int, default=8, help="buckets whose order is checked by brute force")
    parser.add_argument("--top", type=int, default=10, help="positions checked in each of them")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    intervals = [float(s) for s in args.intervals.split(",")]

    log(f"filling {args.tasks:,} tasks (first engine, for memory) ...")
    engine, fill_rate, per_task = fill(args)
    buckets = sum(1 for b in engine.buckets.values() if b.size > 0)
    urgent = sum(t.is_urgent for t in engine.tasks.values())
    log("generating the tasks' facts for the brute force and the naive method ...")
    known = facts(engine, args)
    by_bucket: dict[int, list[Row]] = {}
    for task in engine.tasks.values():
        by_bucket.setdefault(id(task.buckets[0]), []).append(known[task.task_id])
    groups = list(by_bucket.values())
    policy = engine.policy
    del engine
    gc.collect()
    log("naive rescoring of every task ...")
    naive_lib = naive_library(groups, T0 + intervals[0])
    naive_float = naive_inline(groups, T0 + intervals[0], policy)

    rows = []
    for interval in intervals:
        log(f"interval {label(interval)}: filling a fresh engine ...")
        rows.append(run_interval(args, interval, known))

    print(f"reprioritisation: {args.tasks:,} queued ({urgent:,} urgent at T0), {buckets} buckets, no agent ready")
    print(f"  due uniform over {args.due_days:g} days (85 %) or none; fill {fill_rate:,.0f} tasks/s")
    head = ("interval", "to urgent", "touched", "% of queued", "advance ms", "us/touched", "naive ms", "naive/adv")
    widths = (9, 10, 9, 12, 11, 11, 10, 10)
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)), f"{'order':>10}")
    for row in rows:
        per_touched = row["seconds"] / row["due"] * 1e6 if row["due"] else float("nan")
        verdict = f"{'OK' if row['ok'] == row['checked'] else 'FAIL'} {row['ok']:.0f}/{row['checked']:.0f}"
        print(
            f"{label(row['interval']):>9} {row['moved']:>10,.0f} {row['due']:>9,.0f} {row['due'] / args.tasks:>12.3%}"
            f" {row['seconds'] * 1e3:>11.2f} {per_touched:>11.2f}"
            f" {naive_lib * 1e3:>10,.0f} {naive_lib / row['seconds']:>10,.0f} {verdict:>10}",
            flush=True,
        )
    print("to urgent: moved from the static to the urgent band; touched: re-filed by a timer (tier widening too)")
    print(f"naive, every interval: {naive_lib:.2f} s with priority_at, {naive_float:.2f} s inlined on floats")
    print(f"memory per queued task: {per_task:,.0f} bytes (RSS growth while filling)")


if __name__ == "__main__":
    main()
