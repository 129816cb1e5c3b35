"""Benchmark: RedisAgentStore reserve + release on a real Redis.

Prints reserve+release pairs per second done one after the other and by 16 concurrent clients
(each a separate connection, each its own agent), and the p50/p99 latency of a single reserve.
Usage: python -m tests.bench.bench_redis_reserve [--pairs N] [--clients N]
Reads WR_REDIS_URL (default redis://127.0.0.1:16379/0); everything is written under a random
prefix that is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import redis.asyncio as redis

from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.domain.routing.model import AgentProfile, Presence

CAPACITY = {"workitem": 1_000_000, "voice": 1}


async def pairs(store: RedisAgentStore, agent_id: str, count: int) -> None:
    """`count` reserve+release pairs, one after the other."""
    for i in range(count):
        task_id = f"{agent_id}-t{i}"
        await store.reserve(agent_id, task_id, "workitem", "claim", 1.0)
        await store.release(task_id, agent_id)


async def run(url: str, count: int, clients: int) -> None:
    """Set up agents, print the three figures, delete every key written."""
    prefix = f"bench-wr-{uuid.uuid4().hex}"
    conns = [redis.from_url(url) for _ in range(clients)]
    stores = [RedisAgentStore(conn, prefix) for conn in conns]
    try:
        for i, store in enumerate(stores):
            await store.put_profile(AgentProfile(f"a{i}", capacity=CAPACITY, exclusive_channels=frozenset({"voice"})))
            await store.set_presence(f"a{i}", Presence.READY, None, 0.0)
        await pairs(stores[0], "a0", 200)  # warm up: scripts loaded, connections open

        start = time.perf_counter()
        await pairs(stores[0], "a0", count)
        elapsed = time.perf_counter() - start
        print(
            f"{'sequential reserve+release':<40} {count:>7} pairs in {elapsed:6.2f}s = {count / elapsed:>9,.0f} pairs/s"
        )

        per_client = count // clients
        start = time.perf_counter()
        await asyncio.gather(*(pairs(store, f"a{i}", per_client) for i, store in enumerate(stores)))
        elapsed = time.perf_counter() - start
        total = per_client * clients
        label = f"{clients} concurrent clients reserve+release"
        print(f"{label:<40} {total:>7} pairs in {elapsed:6.2f}s = {total / elapsed:>9,.0f} pairs/s")

        latencies: list[float] = []
        for i in range(count):
            began = time.perf_counter_ns()
            await stores[0].reserve("a0", f"lat-{i}", "workitem", "offer", 2.0)
            latencies.append((time.perf_counter_ns() - began) / 1000)
        for i in range(count):
            await stores[0].release(f"lat-{i}", "a0")
        cuts = statistics.quantiles(latencies, n=100)
        print(f"{'one reserve latency':<40} {count:>7} reserves: p50 {cuts[49]:,.0f} us, p99 {cuts[98]:,.0f} us")
        print(f"load left on a0 after releasing everything: {await stores[0].load('a0')}")
    finally:
        keys = [key async for key in conns[0].scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await conns[0].unlink(*keys)
        for conn in conns:
            await conn.aclose()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--url", default=os.environ.get("WR_REDIS_URL", "redis://127.0.0.1:16379/0"))
    args = parser.parse_args()
    print(f"redis {args.url}, RedisAgentStore reserve/release (one Lua script each)")
    asyncio.run(run(args.url, args.pairs, args.clients))


if __name__ == "__main__":
    main()
