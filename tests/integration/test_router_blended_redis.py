"""Blended agents (decisions D21) with the routers' shared capacity in real Redis: the reservation script is
what keeps two routers from overfilling one agent, and the SyncAgent flow keeps each engine in line."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis

from tests.support.blended import EMAIL, VOICE, Blended, blended_config, blended_routers, classified
from tests.support.infra import Infra
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import Presence


@asynccontextmanager
async def on_redis(url: str, capacity: int = 1) -> AsyncIterator[Blended]:
    prefix = f"test-wr-{uuid.uuid4().hex}"
    client = redis.from_url(url)
    try:
        async with blended_routers(RedisAgentStore(client, prefix), blended_config(capacity=capacity)) as b:
            yield b
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


async def test_the_agent_freed_in_one_domain_takes_the_other_domains_waiting_task(infra: Infra) -> None:
    async with on_redis(infra.redis_url) as b:
        await b.presence("x", Presence.READY)
        await b.send(classified("v1", VOICE))
        await b.pump()
        await b.send(classified("e1", EMAIL))
        assert b.offers() == [("v1", "x")]  # email's router knew x was full: proposed nothing
        offer = b.events("offered", VOICE)[0]
        await b.command(ac.AnswerOffer(agent_id="x", domain=VOICE, task_id="v1", offer_id=offer.offer_id, accept=True))
        await b.command(ac.FinishTask(agent_id="x", domain=VOICE, task_id="v1", wrap_up_code="processed"))
        await b.pump()
        assert (b.offers(VOICE), b.offers(EMAIL)) == ([("v1", "x")], [("e1", "x")])
        holder = await b.store.holder("e1")
        assert holder is not None
        assert holder.agent_id == "x"
        assert await b.store.load("x") == {"workitem": 1}


async def test_both_routers_racing_for_one_agent_never_overfill_it(infra: Infra) -> None:
    async with on_redis(infra.redis_url, capacity=2) as b:
        await b.presence("x", Presence.READY)
        for n in range(3):  # no pump between: each router proposes x on what it knows
            await b.send(classified(f"v{n}", VOICE))
            await b.send(classified(f"e{n}", EMAIL))
        assert await b.store.load("x") == {"workitem": 2}
        assert len(b.offers()) == 2
        await b.pump()
        for domain in (VOICE, EMAIL):
            assert b.engine_load(domain, "x") == 2
            assert b.engine_presence(domain, "x") is Presence.READY


async def test_rona_in_one_domain_is_seen_in_the_other(infra: Infra) -> None:
    async with on_redis(infra.redis_url) as b:
        await b.presence("x", Presence.READY)
        await b.send(classified("v1", VOICE))
        await b.pump()
        await b.at(30.0)
        await b.pump()
        assert b.engine_presence(EMAIL, "x") is Presence.NOT_READY
        assert (await b.store.get_presence("x")).reason == "rona"
        await b.presence("x", Presence.READY)  # back: voice offers its waiting task again
        assert b.offers(VOICE) == [("v1", "x"), ("v1", "x")]
        await b.pump()
        assert b.engine_presence(EMAIL, "x") is Presence.READY
        assert b.engine_load(EMAIL, "x") == 1
