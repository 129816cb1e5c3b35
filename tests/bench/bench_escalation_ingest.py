"""Benchmark: escalation's consumption of `wr.tasks` on a real PostgreSQL, one event per transaction against
a poll of events per transaction (what the service does).

Each task: captured (due date, expiry), classified (SLA), queued, accepted, completed; every event
re-plans the task's timers. Prints events/s both ways. Usage: python -m tests.bench.bench_escalation_ingest
[--tasks N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

import asyncpg

from tests.support.escalation import T0, captured, classified
from tests.support.fakes import RecordingBus
from tests.support.infra import resolve
from tests.support.pipeline import CONFIG_DIR, fresh_database
from workrouter.adapters.postgres.escalation_store import PostgresEscalationStore
from workrouter.bus.port import Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.domain.escalation.plan import Rules
from workrouter.services.escalation.handlers import EscalationDeps, handle, handle_batch
from workrouter.services.escalation.service import load_rules

H = timedelta(hours=1)
DELIVERY = Delivery("wr.tasks", 0, 0, None, 1)
POLL = 500


def lives(tasks: int, prefix: str) -> list[list[Envelope]]:
    """Each task's five events."""
    out = []
    for i in range(tasks):
        task_id = f"{prefix}-{i}"
        events: list[Payload] = [
            captured(task_id, due_at=T0 + 30 * H, expires_at=T0 + 90 * H),
            classified(task_id, sla_seconds=8 * 3600),
            te.TaskQueued(task_id=task_id, queue="finance", domain="backoffice", priority=400, sort_key="k"),
            te.TaskAccepted(task_id=task_id, agent_id="a01", how="offer", queue="finance"),
            te.TaskCompleted(task_id=task_id, by="agent", agent_id="a01"),
        ]
        out.append([make_event(p, source="/bench", key=task_id, time=T0) for p in events])
    return out


async def one_per_transaction(deps: EscalationDeps, tasks: int) -> float:
    """16 lanes (like partitions), each event handled alone; events/s."""
    every = lives(tasks, "single")
    lanes = [every[n::16] for n in range(16)]

    async def lane(chunk: list[list[Envelope]]) -> None:
        for life in chunk:
            for envelope in life:
                await handle(envelope, DELIVERY, deps)

    start = time.perf_counter()
    await asyncio.gather(*(lane(chunk) for chunk in lanes))
    return 5 * tasks / (time.perf_counter() - start)


async def polls(deps: EscalationDeps, tasks: int) -> float:
    """Polls of 500 events, each one event of 500 different tasks (a task's next event is in the next poll: every
    event still re-plans and saves its task, as when a task's life spans many polls); events/s."""
    every = lives(tasks, "batched")
    stream: list[Envelope] = []
    for group in range(0, tasks, POLL):
        for step in range(5):
            stream += [life[step] for life in every[group : group + POLL]]
    start = time.perf_counter()
    for at in range(0, len(stream), POLL):
        await handle_batch([(e, DELIVERY) for e in stream[at : at + POLL]], deps)
    return len(stream) / (time.perf_counter() - start)


async def main(tasks: int) -> None:
    """Both ways on a fresh database; print the figures."""
    infra = resolve()
    rules: Rules = load_rules(CONFIG_DIR)  # the seed escalation.yaml: SLA ladders, OLAs, due-date steps
    async with fresh_database(infra.database_url) as url:
        pool = await asyncpg.create_pool(url, min_size=4, max_size=20)
        try:
            store = PostgresEscalationStore(pool)
            await store.migrate()
            deps = EscalationDeps(store, rules, RecordingBus())
            rate = await one_per_transaction(deps, tasks)
            print(
                f"escalation ingest: {tasks} tasks, {5 * tasks} events, one per transaction, 16 at once: {rate:.0f}/s"
            )
            rate = await polls(deps, tasks)
            print(
                f"escalation ingest: {tasks} tasks, {5 * tasks} events, a poll of {POLL} per transaction: {rate:.0f}/s"
            )
        finally:
            await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=4000)
    asyncio.run(main(parser.parse_args().tasks))
