"""Benchmark of the pure matching engine: routing decisions per second and memory per queued task.

    python -m tests.bench.bench_router_engine [--sizes 1000,10000,100000,1000000] [--agents 10000]

For each size N the engine is filled with N waiting tasks beyond what the agents can hold (10 queues
over 50 skills, each task needing one skill of its queue at level 0 or 40, three tiers widening at
60 s and 300 s, priorities spread over 0..1000 with a quarter of the tasks due within the urgency
horizon). Every agent is busy to capacity, so the steady state is the hard one: each time an agent
finishes a task the engine must pick, among N waiting, the best one the agent may take; then a new
task arrives so N stays put. The clock moves 1 ms per operation, so tiers widen and timers fire
as they would. Printed: decisions/s (offers made per second of engine time, complete + enqueue
calls included), microseconds per decision, memory per queued task (RSS growth while filling),
and the ratio between the smallest and the largest N, each row with the load average at its end (the
machine is shared: compare runs made in the same conditions). Then what a Prometheus scrape of the
router's live gauges costs at that N (the best of a few, on the engine as the run left it): "scrape
ms" from the counts the engine keeps as tasks move (domain/routing/tally.py), "walk ms" the walk over
every task that scrapes did before (tests/support/metrics_walk.py), and "agents ms" the walk over
the agents that both include. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

from tests.support.metrics_walk import describe_by_walk
from workrouter.domain.routing.actions import Offer, TaskSpec
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, Strategy, Tier
from workrouter.services.router.carry_out import DomainState
from workrouter.services.router.metrics import DomainMetrics
from workrouter.services.router.metrics_collector import Families, _agents, describe

SKILLS = [f"skill{i:02d}" for i in range(50)]
QUEUES = {f"q{i}": SKILLS[i * 5 : i * 5 + 5] for i in range(10)}
STRATEGIES = list(Strategy)
T0 = 1_800_000_000.0


def rss_bytes() -> int:
    """Resident set size of this process now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def load_average() -> str:
    """The 1-minute load average now (Linux), for the record beside the figures."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def build(agents: int, rng: random.Random) -> tuple[Engine, list[AgentProfile]]:
    tiers = (Tier(70), Tier(40, 60.0), Tier(0, 300.0))
    policies = {
        name: QueuePolicy(name, "d", strategy=STRATEGIES[i % len(STRATEGIES)], tiers=tiers, offer_timeout_seconds=1e9)
        for i, name in enumerate(QUEUES)
    }
    engine = Engine(policies)
    profiles = []
    for i in range(agents):
        queues = rng.sample(sorted(QUEUES), 2)
        skills = {skill: rng.randint(10, 100) for q in queues for skill in QUEUES[q]}
        profile = AgentProfile(f"a{i}", skills, frozenset(queues), {"workitem": 3}, auto_answer=True)
        profiles.append(profile)
        engine.put_agent(profile, T0)
    return engine, profiles


def task(n: int, now: float, rng: random.Random, age: float) -> TaskSpec:
    queue = f"q{rng.randrange(10)}"
    due = now + rng.uniform(-3600, 72 * 3600) if rng.random() < 0.25 else None
    skill = QUEUES[queue][rng.randrange(5)]
    return TaskSpec(f"t{n}", queue, ((skill, rng.choice((0, 40))),), rng.randrange(0, 1001), 0.0, due, now - age)


def best_ms(scrape: Callable[[], object], times: int = 3) -> float:
    """The shortest of a few runs of `scrape`, in milliseconds."""
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        scrape()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def scrape_ms(engine: Engine, now: float) -> dict[str, float]:
    """What one scrape of the domain's live gauges costs: from the tallies, walking every task, agents alone."""
    state = cast(
        DomainState,
        SimpleNamespace(
            domain="d",
            queues=engine.queues,
            engine=engine,
            metrics=DomainMetrics(),
            config=SimpleNamespace(not_ready_reasons={}),
        ),
    )
    return {
        "scrape_ms": best_ms(lambda: describe(state, now, Families())),
        "walk_ms": best_ms(lambda: describe_by_walk(state, now, Families())),
        "agents_ms": best_ms(lambda: _agents(state, Families())),
    }


def run(size: int, agents: int, decisions: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    gc.collect()
    engine, profiles = build(agents, rng)
    now = T0
    capacity = agents * 3
    n = 0
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    for _ in range(size + capacity):
        n += 1
        engine.enqueue(task(n, now, rng, rng.uniform(0, 3600)), now)
    fill_seconds = time.perf_counter() - started
    gc.collect()
    per_task = (rss_bytes() - before) / (size + capacity)
    for profile in profiles:  # everyone gets to work: the queue drops to `size`
        engine.set_presence(profile.agent_id, Presence.READY, None, now)
    held = [t for t in engine.tasks.values() if t.state == "assigned"]
    waiting = len(engine.tasks) - len(held)
    rng.shuffle(held)
    busy = [(t.task_id, t.agent_id or "") for t in held]
    made = 0
    engine_seconds = 0.0
    i = 0
    while made < decisions:
        task_id, agent_id = busy[i % len(busy)]
        i += 1
        now += 0.001
        n += 1
        new = task(n, now, rng, 0.0)
        t0 = time.perf_counter()
        actions = engine.complete(task_id, agent_id, now)
        actions += engine.enqueue(new, now)
        engine_seconds += time.perf_counter() - t0
        offers = [a for a in actions if isinstance(a, Offer)]
        made += len(offers)
        busy.extend((o.task_id, o.agent_id) for o in offers)
    return {
        "size": size,
        "waiting": waiting,
        "fill_per_s": (size + capacity) / fill_seconds,
        "bytes_per_task": per_task,
        "decisions_per_s": made / engine_seconds,
        "us_per_decision": engine_seconds / made * 1e6,
        "buckets": len(engine.buckets),
    } | scrape_ms(engine, now)


def main() -> None:
    """Run the sizes and print one row each, then the ratio between the smallest and the largest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"matching engine: {args.agents:,} agents (capacity 3), 10 queues over 50 skills, 3 tiers")
    print(f"load average at the start: {load_average()} ({os.cpu_count()} cores)")
    head = ["queued", "fill tasks/s", "bytes/task", "decisions/s", "us/decision", "buckets", "load", "scrape ms"]
    head += ["walk ms", "agents ms"]
    widths = (10, 13, 11, 12, 12, 8, 6, 10, 9, 10)
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    rows = []
    for size in sizes:
        row = run(size, args.agents, args.decisions, args.seed)
        rows.append(row)
        print(
            f"{row['waiting']:>10,} {row['fill_per_s']:>13,.0f} {row['bytes_per_task']:>11,.0f}"
            f" {row['decisions_per_s']:>12,.0f} {row['us_per_decision']:>12.1f} {row['buckets']:>8,.0f}"
            f" {load_average():>6} {row['scrape_ms']:>10.2f} {row['walk_ms']:>9.1f} {row['agents_ms']:>10.2f}",
            flush=True,
        )
    if len(rows) > 1:
        ratio = rows[0]["decisions_per_s"] / rows[-1]["decisions_per_s"]
        print(f"slowdown from {rows[0]['waiting']:,} to {rows[-1]['waiting']:,} queued: {ratio:.2f}x")
    for row in rows:
        print(
            f"metrics scrape at {row['waiting']:,} waiting: {row['scrape_ms']:.2f} ms from the tallies,"
            f" {row['walk_ms']:.1f} ms walking every task (before); agents {row['agents_ms']:.2f} ms of each"
        )


if __name__ == "__main__":
    main()
