"""Benchmark: the notifier's two halves on real PostgreSQL and real local HTTP servers.

1. ingest: N tasks (captured, accepted, completed) into the views and the outbox, one event per
   transaction (16 lanes at once, like partitions) and as the service consumes them, a poll of up
   to 500 events per transaction (events/s; this bounds how fast the notifier keeps up with wr.tasks);
2. delivery: the N callbacks sent to two HTTP servers (uvicorn, in threads of this process) by the
   dispatcher, with the default per-source concurrency and with more (callbacks/s), next to plain httpx
   POSTs to the same servers (the HTTP ceiling on this machine, with no store work at all).
Usage: python -m tests.bench.bench_notifier [--tasks N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import asyncpg
import httpx

from tests.support.callback_server import CallbackServer
from tests.support.infra import resolve
from tests.support.notifier import captured, completed
from tests.support.pipeline import fresh_database
from tests.support.wait import wait_until
from workrouter.adapters.postgres.notifier_store import PostgresCallbackStore
from workrouter.bus.port import Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event, utcnow
from workrouter.domain.notify.retry import RetryPolicy
from workrouter.services.notifier.dispatcher import Dispatcher
from workrouter.services.notifier.handlers import NotifierDeps, handle, handle_batch
from workrouter.services.notifier.sender import Sender, Target

SOURCES = ("crm", "bpm")
DELIVERY = Delivery("wr.tasks", 0, 0, None, 1)


def histories(tasks: int, prefix: str) -> list[list[Envelope]]:
    """Each task's three events: captured, accepted, completed."""
    out = []
    for i in range(tasks):
        task_id = f"{prefix}-{i}"
        events = (
            captured(task_id, SOURCES[i % 2]),
            te.TaskAccepted(task_id=task_id, agent_id="alice", how="pull"),
            completed(task_id),
        )
        out.append([make_event(e, source="/bench", key=task_id) for e in events])
    return out


async def ingest_batched(store: PostgresCallbackStore, subs: dict[str, frozenset[str]], tasks: int) -> float:
    """Polls of 500 events, each one event of 500 different tasks, one poll after another; events/s."""
    deps = NotifierDeps(store, subs, utcnow)
    stream: list[Envelope] = []
    lives = histories(tasks, "batched")
    for group in range(0, tasks, 500):  # each poll one event of 500 tasks: no task's life fits in one poll
        for step in range(3):
            stream += [life[step] for life in lives[group : group + 500]]
    start = time.perf_counter()
    for at in range(0, len(stream), 500):
        await handle_batch([(e, DELIVERY) for e in stream[at : at + 500]], deps)
    return len(stream) / (time.perf_counter() - start)


async def ingest(store: PostgresCallbackStore, subs: dict[str, frozenset[str]], tasks: int) -> float:
    """Feed every task's events through the handler one at a time, 16 partitions at once; return events/s."""
    deps = NotifierDeps(store, subs, utcnow)
    lives = histories(tasks, "single")
    lanes = [lives[n::16] for n in range(16)]  # like partitions: each in order, the lanes at once

    async def lane(chunk: list[list[Envelope]]) -> None:
        for history in chunk:
            for envelope in history:
                await handle(envelope, DELIVERY, deps)

    start = time.perf_counter()
    await asyncio.gather(*(lane(chunk) for chunk in lanes))
    return 3 * tasks / (time.perf_counter() - start)


async def deliver(store: PostgresCallbackStore, servers: dict[str, CallbackServer], concurrency: int) -> float:
    """Send every pending callback; return callbacks/s."""
    targets = {name: Target(name, s.url, s.secret, frozenset({"completed"})) for name, s in servers.items()}
    sender = Sender(clock=utcnow, max_connections=concurrency)
    dispatcher = Dispatcher(
        targets, store, sender, RetryPolicy(), clock=utcnow, rand=random.random, concurrency=concurrency
    )
    total = sum(n for (_, status), n in (await store.counts()).items() if status == "pending")
    start = time.perf_counter()
    running = asyncio.create_task(dispatcher.run())
    await wait_until(lambda: sum(len(s.first_acks) for s in servers.values()) >= total, timeout=600, interval=0.01)
    took = time.perf_counter() - start
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await sender.aclose()
    return total / took


async def plain_posts(servers: dict[str, CallbackServer], count: int, concurrency: int) -> float:
    """POSTs/s of bare httpx to the same servers, `concurrency` per server."""
    gate = asyncio.Semaphore(concurrency * len(servers))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency * len(servers))) as client:

        async def one(n: int) -> None:
            async with gate:
                await client.post(list(servers.values())[n % len(servers)].url, content=b"{}")

        start = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return count / (time.perf_counter() - start)


async def main(tasks: int) -> None:
    """Run both halves and print the figures."""
    infra = resolve()
    async with fresh_database(infra.database_url) as url:
        pool = await asyncpg.create_pool(url, min_size=4, max_size=20)
        try:
            store = PostgresCallbackStore(pool)
            await store.migrate()
            subs = {name: frozenset({"completed"}) for name in SOURCES}
            rate = await ingest(store, subs, tasks)
            print(f"ingest: {tasks} tasks, {3 * tasks} events, one per transaction, 16 at once: {rate:.0f} events/s")
            rate = await ingest_batched(store, subs, tasks)
            print(f"ingest: {tasks} tasks, {3 * tasks} events, a poll of 500 per transaction: {rate:.0f} events/s")
            await pool.execute("DELETE FROM notifier_callbacks WHERE task_id LIKE 'batched-%'")
            for concurrency in (4, 16):
                servers = {name: CallbackServer(f"{name}-secret-0123456789") for name in SOURCES}
                for server in servers.values():
                    server.start()
                try:
                    rate = await deliver(store, servers, concurrency)
                    ceiling = await plain_posts(servers, min(tasks, 2000), concurrency)
                finally:
                    for server in servers.values():
                        server.stop()
                print(
                    f"delivery: {tasks} callbacks to 2 sources, {concurrency} in flight per source: {rate:.0f}/s "
                    f"(bare httpx POSTs to the same servers: {ceiling:.0f}/s)"
                )
                await pool.execute("UPDATE notifier_callbacks SET status = 'pending', next_attempt_at = now()")
        finally:
            await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=5000)
    asyncio.run(main(parser.parse_args().tasks))
