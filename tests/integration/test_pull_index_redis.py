"""The pull indexes on a real Redis: the api's walk gives what the full scan gives, the router keeps the indexes
as a takeover would file them after every kind of change, and a takeover repairs whatever it finds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as redis
from hypothesis import HealthCheck, given, settings

from tests.support.infra import Infra
from tests.support.pull_cases import NOW, QUEUES, build, entries_case, profile_case, waiting
from tests.support.routing import DOMAIN, T0, classified, command, router_on_redis
from workrouter.adapters.redis_agent_ops import Write
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import make_event
from workrouter.contracts.task_events import TaskCancelled
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Mode
from workrouter.domain.routing.pull_index import STATIC, URGENT, IndexKey, member, placement
from workrouter.domain.routing.pull_parked import ParkedWalk
from workrouter.domain.routing.pull_walk import Page, PullWalk
from workrouter.domain.routing.workbin import next_candidates, personal_workbin, workbin
from workrouter.services.api.pull_reads import read_walk

HOLDER = AgentProfile("holder", {}, frozenset(), {"workitem": 100_000})


@asynccontextmanager
async def fresh_store(url: str, *, decode: bool = False) -> AsyncIterator[RedisAgentStore]:
    prefix = f"test-wr-pull-{uuid.uuid4().hex}"
    client = redis.from_url(url, decode_responses=decode)
    try:
        yield RedisAgentStore(client, prefix)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries_case, profile_case)
async def test_the_walks_on_redis_are_the_full_scan(infra: Infra, rows: list[dict[str, Any]], profile: Any) -> None:
    entries, held, index = build(rows)
    async with fresh_store(infra.redis_url, decode=len(rows) % 2 == 1) as store:
        ops = [Write("save_task", ("bo", e.task_id, e.to_json())) for e in entries]
        await store.apply(ops)
        async with store._client.pipeline(transaction=False) as pipe:  # the indexes as `build` filed them
            for key, members in index.items():
                pipe.zadd(store._index.key("bo", key), members)
                if key.kind == STATIC:
                    pipe.sadd(store._index.classes_key("bo", key.name), key.skills)
            await pipe.execute()
        await store.put_profile(HOLDER)
        for task_id in sorted(held):
            assert (await store.reserve("holder", task_id, "workitem", "claim", NOW, require_ready=False)).ok
        # what the api used to do: every entry, the holders of all of them
        stored = [QueueEntry.from_json(v) for v in (await store.load_tasks("bo")).values()]
        holders = set(await store.holders([e.task_id for e in stored]))
        assert holders == held
        for queue in ("claims", "experts"):
            theirs = workbin(profile, QUEUES[queue], waiting(stored, held), NOW, limit=7)
            ours = await read_walk(store, "bo", PullWalk(profile, {queue: QUEUES[queue]}, NOW, limit=7))
            assert [e.task_id for e in ours] == [e.task_id for e in theirs]
        pull = {q: QUEUES[q] for q in profile.queues if QUEUES[q].mode is Mode.PULL}
        theirs = next_candidates(profile, QUEUES, waiting(stored, held), NOW, limit=3)
        ours = await read_walk(store, "bo", PullWalk(profile, pull, NOW, limit=3))
        assert ours == theirs
        parked = [e for e in stored if e.task_id not in held and e.after_work_until is None]
        theirs = personal_workbin("ann", parked)[:5]
        assert await read_walk(store, "bo", ParkedWalk("ann", limit=5)) == theirs


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
async def test_scores_and_members_come_back_exactly(infra: Infra, decode: bool) -> None:
    base = QueueEntry("t0", "claims", "bo", "workitem", (("lang:fr", 60),), 0, 0.0, None, NOW, 1)
    odd = [
        base,
        QueueEntry("t1", "claims", "bo", "workitem", (), 1000, 1e12, NOW - 1e9, -1.5, -7, ("ann",)),
        QueueEntry("t2", "claims", "bo", "workitem", (), 7, 1e-300, NOW + 3600.0, NOW + 2.0**-20, 2**40),
        QueueEntry("t3", "claims", "bo", "workitem", (), 7, 1e-300, NOW + 3600.0, NOW + 2.0**-20, 2**40 + 1),
    ]
    async with fresh_store(infra.redis_url, decode=decode) as store:
        for e in odd:
            await store.save_task("bo", e.task_id, e.to_json())
        filed: dict[IndexKey, list[tuple[str, float]]] = {}
        for e in odd:
            for key, score in placement(e, pull=True):
                filed.setdefault(key, []).append((member(e), score))
        assert await store.index_classes("bo", ["claims", "other"]) == {
            "claims": {'[["lang:fr",60]]', "[]"},
            "other": set(),
        }
        keys = sorted(filed, key=repr)
        pages = await store.index_pages("bo", [Page(key, 0, 10) for key in keys])
        assert pages == [sorted(filed[key], key=lambda m: (m[1], m[0].encode())) for key in keys]
        found = await store.entries_held("bo", ["t1", "t9"])
        assert found == {"t1": (odd[1].to_json(), False), "t9": (None, False)}
        assert await store.drop_task("bo", "t1")
        (page,) = await store.index_pages("bo", [Page(IndexKey(URGENT, "claims", "[]"), 0, 10)])
        assert [m for m, _ in page] == [member(odd[2]), member(odd[3])]


async def filed_as_a_takeover_would(
    store: RedisAgentStore, queues: dict[str, Any]
) -> dict[str, tuple[QueueEntry, bool]]:
    """Every entry of the domain in Redis, and whether it belongs in its queue's bands (a pull queue, not held)."""
    raw = await store.load_tasks(DOMAIN)
    held = await store.holders(list(raw))
    filed = {}
    for task_id, value in raw.items():
        entry = QueueEntry.from_json(value)
        filed[task_id] = (entry, queues[entry.queue].mode is Mode.PULL and task_id not in held)
    return filed


async def consistent(store: RedisAgentStore, queues: dict[str, Any]) -> None:
    """The indexes are exactly what a takeover would file: reconciling them changes nothing."""
    assert await store.reconcile_index(DOMAIN, await filed_as_a_takeover_would(store, queues)) == (0, 0)


async def test_the_router_files_every_change_as_a_takeover_would(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        queues = h.state.queues

        async def check() -> None:
            await consistent(h.store, queues)

        await h.send(classified("t1", "pull", priority=300))
        await h.send(classified("t2", "pull", due_at=T0 + 3600.0))
        await h.send(classified("t3", "pull", due_at=T0 + 90 * 3600.0, at=T0 - 60))
        await h.send(classified("t4", "pull", preferred=("b",)))
        await h.send(classified("t5", "q"))  # a push queue: never in a band
        await check()
        listed = await read_walk(
            h.store, DOMAIN, PullWalk(h.state.config.agents["a"], {"pull": queues["pull"]}, T0, limit=10)
        )
        assert [e.task_id for e in listed] == ["t2", "t1", "t3", "t4"]  # urgent, high, then the older first

        await h.ready("b")
        assert (await h.store.reserve("b", "t1", "workitem", "claim", T0)).ok  # get-next through the api
        await h.send(command(ac.TaskClaimed(agent_id="b", domain=DOMAIN, task_id="t1", how="get_next")))
        await check()  # held: out of the band
        await h.at(400.0)  # not started within the claim timeout: back in the queue, and in its band
        assert ("t1", "claim_timeout") in [(r.task_id, r.reason) for r in h.events("offer_revoked")]
        await check()

        park = ac.SupervisorAssign(agent_id="a", domain=DOMAIN, task_id="t2", action="park", supervisor="sam")
        await h.send(command(park))
        await check()  # in a's personal workbin only
        assert [e.task_id for e in await read_walk(h.store, DOMAIN, ParkedWalk("a", limit=5))] == ["t2"]
        await h.ready("a")  # offered t5 (push), and has room for one more
        assert (await h.store.reserve("a", "t2", "workitem", "assign", h.clock())).ok  # claimed from it
        await h.send(command(ac.TaskClaimed(agent_id="a", domain=DOMAIN, task_id="t2", how="personal")))
        await check()
        await h.send(command(ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t2", wrap_up_code="processed")))
        await check()

        await h.send(classified("t3", "pull", priority=900, at=T0 + 500.0))  # re-filed with a new priority
        await h.send(make_event(TaskCancelled(task_id="t4", by="source", reason="gone"), source="/t", key=DOMAIN))
        await h.send(classified("t1", "q", at=T0 + 500.0))  # moved to a push queue: out of the bands
        await check()
        b = h.state.config.agents["b"]
        listed = await read_walk(h.store, DOMAIN, PullWalk(b, {"pull": queues["pull"]}, h.clock(), limit=10))
        assert [e.task_id for e in listed] == ["t3"]


async def test_a_takeover_files_whatever_it_finds_again(infra: Infra) -> None:
    prefix = f"test-wr-{uuid.uuid4().hex}"
    async with router_on_redis(infra.redis_url, prefix=prefix) as h:
        for n in range(1, 6):
            await h.send(classified(f"t{n}", "pull", priority=100 * n))
        queues = h.state.queues
    client = redis.from_url(infra.redis_url)
    store = RedisAgentStore(client, prefix)
    try:
        t3 = QueueEntry.from_json(await store.get_task(DOMAIN, "t3") or {})
        static = store._index.key(DOMAIN, placement(t3, pull=True)[0][0])
        assert await client.zrem(static, member(t3)) == 1  # a member lost
        await client.zadd(static, {"left-behind": 1.0})  # junk
        await client.zadd(store._index.key(DOMAIN, IndexKey("parked", "a")), {"0" * 32 + "t9\x1f": 0.0})  # gone task
        await client.zadd(store._index.key(DOMAIN, IndexKey(STATIC, "pull", "[]")), {member(t3): 1.0})  # elsewhere
        await client.sadd(store._index.classes_key(DOMAIN, "pull"), "[]")
        async with router_on_redis(infra.redis_url, prefix=prefix) as again:  # a new owner takes the domain over
            await consistent(again.store, queues)
            assert await again.store.index_classes(DOMAIN, ["pull"]) == {"pull": {'[["s",0]]'}}
            a = again.state.config.agents["a"]
            listed = await read_walk(again.store, DOMAIN, PullWalk(a, {"pull": queues["pull"]}, T0, limit=10))
            assert [e.task_id for e in listed] == ["t5", "t4", "t3", "t2", "t1"]
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()
