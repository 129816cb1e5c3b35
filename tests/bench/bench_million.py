"""Benchmark: workbin page, get-next, personal workbin and explain in the api with up to a million waiting tasks.

Fills Redis with waiting tasks in the seed configuration's backoffice domain through the router's own
writes (`Write("save_task")` + `Write("index_task")`, pipelined, as a unit of work carries them out): 90 %
in the pull queue `claims` (skills, tiers, due dates and priorities mixed; a tenth of them need French,
which emma lacks, and a twentieth claims 90, above everybody), 10 % in the push queue `general`, 1,200
parked in personal workbins (the first claims tasks) and 2,000 held by an agent (out of the bands, as
the router keeps them).
At each size of --sizes it times --requests requests of each kind through the api's ASGI app
(httpx.ASGITransport: token check, routing, the walk, JSON; no sockets) and prints p50/p99 in ms:

    workbin emma    GET /v1/agent/workbins/claims?limit=50, a senior (may take most tasks)
    workbin farid   the same for an agent in the second tier only (tasks waiting over 10 minutes)
    workbin novice  the same for an agent below every class's level: no band is read at all
    workbin junior  the same for an agent of the third tier (tasks waiting over an hour): the walk reads
                    past the younger tasks of its class ranked first (a burst of 0.5 % of the tasks,
                    priority 900, came in the last 50 minutes)
    junior, capped  the same asked as if it were 6.9 days earlier (an app whose clock says so): few of the
                    tasks then waited an hour, the walk stops at its scan limit and says truncated
    get-next        POST /v1/agent/next as emma (the hold is released after each, outside the timing)
    personal        GET /v1/agent/workbin?limit=50 as emma (1,000 tasks parked for her)
    explain         GET /v1/tasks/{id}/explain as sam (supervisor), a random waiting task each time

Then, at each size of --old-sizes (reached on the way up), the path the api had before the pull indexes,
as functions (its routes are gone): every entry of the domain read (HSCAN), the holders of all those
kept, the entries parsed, workbin.workbin / next_candidates / personal_workbin. Nothing is asserted on
time. Reads WR_REDIS_URL; everything is written under a random prefix that is deleted at the end.

Usage: python -m tests.bench.bench_million [--sizes 10000,100000,1000000] [--old-sizes 10000,100000]
       [--requests 200] [--reconcile]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as redis

from tests.support.agent_api import SEED, auth, seed_routing
from tests.support.fakes import RecordingBus
from workrouter.adapters.redis_agent_ops import Read, Write
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.config.catalog import load_catalog
from workrouter.config.routing import RoutingConfig
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, needs
from workrouter.domain.routing.workbin import (
    is_waiting,
    next_candidates,
    parse_entries,
    personal_workbin,
    workbin,
)
from workrouter.services.api.app import create_app

DOMAIN = "backoffice"
NOW = 1_800_000_000.0
DAY = 86_400.0
CHUNK = 5_000
PARKED = {"emma": 1_000, "farid": 200}
HELD = 2_000
NEEDS = [
    (needs({"claims": 30}), 25),
    (needs({"claims": 50}), 25),
    (needs({"claims": 70}), 15),
    (needs({"claims": 60, "fraud": 70}), 20),
    (needs({"claims": 40, "lang:fr": 60}), 10),
    (needs({"claims": 90}), 5),
]
NOVICE = AgentProfile("novice", {"claims": 20}, frozenset({"claims"}), {"workitem": 3})
JUNIOR = AgentProfile("junior", {"claims": 35}, frozenset({"claims"}), {"workitem": 3})  # tier 2 (30): after 1 h
HOLDER = AgentProfile("holder", {}, frozenset(), {"workitem": 1_000_000})


def routing() -> RoutingConfig:
    """The seed configuration and two more agents of `claims`: a novice and a junior."""
    seed = seed_routing()
    more = {"novice": NOVICE, "junior": JUNIOR}
    tokens = {a: hashlib.sha256(f"{a}-demo-token".encode()).hexdigest() for a in more}
    return dataclasses.replace(seed, agents={**seed.agents, **more}, agent_tokens={**seed.agent_tokens, **tokens})


def make_entry(i: int, rng: random.Random) -> QueueEntry:
    """The i-th waiting task."""
    queue = "general" if rng.random() < 0.1 else "claims"
    skills = rng.choices([n for n, _ in NEEDS], weights=[w for _, w in NEEDS])[0]
    due = None if rng.random() < 0.7 else NOW + rng.uniform(-0.5 * DAY, 10 * DAY)
    task_id = f"{rng.getrandbits(128):032x}"
    fresh = rng.random() < 0.005  # the burst: high priority, in the last 50 minutes
    return QueueEntry(
        task_id=task_id,
        queue=queue,
        domain=DOMAIN,
        channel="workitem",
        needs=skills if queue == "claims" else needs({"lang:fr": 10}),
        base=900 if fresh else rng.choice([250, 500, 500, 750, 900]),
        business_value=0.0 if rng.random() < 0.7 else round(rng.uniform(0, 500), 2),
        due_at=due,
        enqueued_at=NOW - rng.uniform(0, 3000.0 if fresh else 7 * DAY),
        seq=i + 1,
        url=f"https://claims.example/case/{task_id}",
        title=f"Claim {i + 1}: water damage, policy {rng.randrange(10**8):08d}",
        classified_id=str(uuid.UUID(int=rng.getrandbits(128))),
        captured_at=NOW - rng.uniform(0, 7 * DAY),
    )


class Fill:
    """Waiting tasks written the way the router writes them, size after size."""

    def __init__(self, store: RedisAgentStore, seed: int) -> None:
        self.store, self.rng = store, random.Random(seed)
        self.count = 0
        self.parked = dict(PARKED)
        self.held = 0
        self.sample: list[str] = []  # waiting tasks of `claims`, to explain

    async def to(self, size: int) -> float:
        """Fill up to `size` tasks; the seconds it took."""
        start = time.perf_counter()
        while self.count < size:
            ops: list[Write | Read] = []
            for _ in range(min(CHUNK, size - self.count)):
                ops += self._task(make_entry(self.count, self.rng))
                self.count += 1
            await self.store.apply(ops)
            if self.count % 100_000 == 0 or self.count == size:
                elapsed = time.perf_counter() - start
                print(f"  filled {self.count:>9,} ({elapsed:5.1f} s)", flush=True)
        return time.perf_counter() - start

    def _task(self, entry: QueueEntry) -> list[Write | Read]:
        pull = entry.queue == "claims"
        held = False
        if pull and self.held < HELD and self.rng.random() < 0.01:
            held, self.held = True, self.held + 1
        elif pull:
            agent = next((a for a, left in self.parked.items() if left), None)  # the first claims tasks
            if agent is not None:
                self.parked[agent] -= 1
                entry = dataclasses.replace(entry, parked_for=agent)
            elif len(self.sample) < 10_000:
                self.sample.append(entry.task_id)
        ops: list[Write | Read] = [
            Write("save_task", (DOMAIN, entry.task_id, entry.to_json())),
            Write("index_task", (DOMAIN, entry, pull and not held)),
        ]
        if held:
            ops.append(Read("reserve", ("holder", entry.task_id, "workitem", "assign", NOW, False)))
        return ops


@dataclass
class Timing:
    """Wall times of the calls (ms), and CPU per call (ms) of this process and of Redis."""

    walls: list[float]
    cpu_ms: float
    redis_cpu_ms: float

    def line(self) -> str:
        q = statistics.quantiles(self.walls, n=100)
        return (
            f"p50 {q[49]:7.2f} ms  p99 {q[98]:7.2f} ms  max {max(self.walls):7.2f} ms | "
            f"CPU per request: {self.cpu_ms:5.2f} ms here, {self.redis_cpu_ms:5.2f} ms Redis"
        )


async def redis_cpu(conn: redis.Redis) -> float:
    """Seconds of CPU Redis has used."""
    info = await conn.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def timed(conn: redis.Redis, count: int, call: Callable[[], Awaitable[Any]]) -> Timing:
    """`count` calls one after the other."""
    walls = []
    cpu, server = time.process_time(), await redis_cpu(conn)
    for _ in range(count):
        start = time.perf_counter()
        await call()
        walls.append((time.perf_counter() - start) * 1000)
    cpu, server = time.process_time() - cpu, await redis_cpu(conn) - server
    return Timing(walls, cpu * 1000 / count, server * 1000 / count)


class Api:
    """The api's ASGI app over the store, and the requests timed."""

    def __init__(self, client: httpx.AsyncClient, early: httpx.AsyncClient, store: RedisAgentStore, fill: Fill) -> None:
        self.client, self.early, self.store, self.fill = client, early, store, fill
        self.rng = random.Random(7)

    async def workbin(self, agent: str, *, full: bool = True) -> None:
        response = await self.client.get("/v1/agent/workbins/claims?limit=50", headers=auth(agent))
        body = response.json()
        assert response.status_code == 200, response.text
        if full:
            assert (len(body["tasks"]), body["truncated"]) == (50, False)
        else:
            assert (body["tasks"], body["truncated"]) == ([], False)

    async def capped(self) -> None:
        response = await self.early.get("/v1/agent/workbins/claims?limit=50", headers=auth("junior"))
        assert response.status_code == 200, response.text
        assert response.json()["truncated"]

    async def get_next(self) -> str:
        response = await self.client.post("/v1/agent/next", headers=auth("emma"))
        assert response.status_code == 200, response.text
        return str(response.json()["task"]["task_id"])

    async def personal(self) -> None:
        response = await self.client.get("/v1/agent/workbin?limit=50", headers=auth("emma"))
        assert response.status_code == 200, response.text
        assert len(response.json()["tasks"]) == 50

    async def explain(self) -> None:
        task_id = self.rng.choice(self.fill.sample)
        response = await self.client.get(f"/v1/tasks/{task_id}/explain", headers=auth("sam"))
        assert response.status_code == 200, response.text

    async def get_next_again(self) -> None:
        """Get-next, then the hold released (as the router would once the claim times out): the same task
        is the best again (the release is in the timing, about one round trip)."""
        await self.store.release(await self.get_next(), "emma")

    async def run(self, size: int, requests: int) -> None:
        conn = self.store._client
        await self.workbin("emma")  # warm up
        rows = [
            ("workbin emma", await timed(conn, requests, lambda: self.workbin("emma"))),
            ("workbin farid", await timed(conn, requests, lambda: self.workbin("farid"))),
            ("workbin novice", await timed(conn, requests, lambda: self.workbin("novice", full=False))),
            ("workbin junior", await timed(conn, requests, lambda: self.workbin("junior"))),
            ("junior, capped", await timed(conn, requests, self.capped)),
            ("get-next", await timed(conn, requests, self.get_next_again)),
            ("personal workbin", await timed(conn, requests, self.personal)),
            ("explain", await timed(conn, requests, self.explain)),
        ]
        for name, timing in rows:
            print(f"  {size:>9,} waiting  api  {name:<17} {timing.line()}", flush=True)


async def old_path(store: RedisAgentStore, cfg: RoutingConfig, size: int, requests: int) -> None:
    """The api's reads before the pull indexes, as functions (see the module's doc)."""
    queues, emma = cfg.queues, cfg.agents["emma"]

    async def waiting(keep: Callable[[dict[str, Any]], bool], parked: bool = False) -> list[QueueEntry]:
        raw = await store.load_tasks(DOMAIN)
        chosen = {
            t: d
            for t, d in raw.items()
            if keep(d) and (is_waiting(d, held=False) or (parked and d.get("after_work_until") is None))
        }
        holders = await store.holders(chosen)
        return parse_entries({t: d for t, d in chosen.items() if t not in holders})

    async def listing() -> None:
        found = workbin(emma, queues["claims"], await waiting(lambda d: d.get("queue") == "claims"), NOW, limit=50)
        assert len(found) == 50

    async def candidates() -> None:
        assert next_candidates(emma, queues, await waiting(lambda d: d.get("queue") == "claims"), NOW, limit=20)

    async def personal() -> None:
        assert personal_workbin("emma", await waiting(lambda d: d.get("parked_for") == "emma", parked=True))

    for name, call in (("workbin emma", listing), ("get-next", candidates), ("personal workbin", personal)):
        samples = (await timed(store._client, requests, call)).walls
        print(
            f"  {size:>9,} waiting  old  {name:<17} p50 {statistics.median(samples):7.0f} ms  "
            f"max {max(samples):7.0f} ms ({requests} requests)",
            flush=True,
        )


async def run(args: argparse.Namespace) -> None:
    prefix = f"bench-wr-million-{uuid.uuid4().hex}"
    conn = redis.from_url(args.url)
    store = RedisAgentStore(conn, prefix)
    cfg = routing()
    catalog = load_catalog(SEED)
    app = create_app(catalog, RecordingBus(), routing=cfg, store=store, clock=lambda: NOW)
    early_app = create_app(catalog, RecordingBus(), routing=cfg, store=store, clock=lambda: NOW - 6.9 * DAY)
    sizes = sorted({*args.sizes, *args.old_sizes})
    try:
        for agent in ("emma", "farid", "grace", "sam", "novice", "junior"):
            await store.put_profile(cfg.agents[agent])
            await store.set_presence(agent, Presence.READY, None, NOW)
        await store.put_profile(HOLDER)
        fill = Fill(store, args.seed)
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=early_app), base_url="http://api") as early,
        ):
            api = Api(client, early, store, fill)
            for size in sizes:
                print(f"filling to {size:,} waiting", flush=True)
                await fill.to(size)
                # the holder stands for the agents at work; out of the agent list, so that explain (which reads
                # every agent of the domain and what each holds) sees the seed's agents, as in a real domain
                await conn.srem(f"{prefix}:agents", HOLDER.agent_id)
                memory = (await conn.info("memory"))["used_memory"] / 2**20
                print(f"  redis used_memory {memory:,.0f} MiB", flush=True)
                if size in args.sizes:
                    await api.run(size, args.requests)
                if size in args.old_sizes:
                    await old_path(store, cfg, size, max(args.requests * 1000 // size, 5))
        if args.reconcile:
            await reconcile(store, fill, cfg)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        print("deleting the benchmark's keys", flush=True)
        async for key in conn.scan_iter(match=f"{prefix}:*", count=1000):
            await conn.unlink(key)
        await conn.aclose()


async def reconcile(store: RedisAgentStore, fill: Fill, cfg: RoutingConfig) -> None:
    """What a takeover adds to a rebuild: reading every member of the domain's indexes once."""
    raw = await store.load_tasks(DOMAIN)
    holders = await store.holders(list(raw))
    filed = {}
    for task_id, value in raw.items():
        entry = QueueEntry.from_json(value)
        filed[task_id] = (entry, cfg.queues[entry.queue].mode is Mode.PULL and task_id not in holders)
    for case in ("as the router left them", "after an upgrade (no indexes yet)"):
        if case.startswith("after"):
            for pattern in store._index.patterns(DOMAIN):
                async for key in store._client.scan_iter(match=pattern, count=1000):
                    await store._client.unlink(key)
        start = time.perf_counter()
        written, removed = await store.reconcile_index(DOMAIN, filed)
        print(
            f"  takeover: reconcile of {fill.count:,} entries' indexes {case}: {time.perf_counter() - start:.1f} s "
            f"({written:,} members written, {removed:,} removed)",
            flush=True,
        )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    numbers = lambda text: [int(n) for n in text.split(",") if n]  # noqa: E731
    parser.add_argument("--sizes", type=numbers, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--old-sizes", type=numbers, default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reconcile", action="store_true", help="also time a takeover's reconcile at the end")
    parser.add_argument("--url", default=os.environ.get("WR_REDIS_URL", "redis://127.0.0.1:16379/0"))
    args = parser.parse_args()
    print(f"redis {args.url}; api over httpx.ASGITransport; {args.requests} requests of each kind")
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
