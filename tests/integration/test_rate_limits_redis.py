"""Rate limits on a real Redis: the Lua bucket behaves as the in-process one, and two api instances share it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as redis

from tests.support.agent_api import SEED, T0, Clock, auth, seed_routing
from tests.support.fake_agents import FakeAgentStore
from tests.support.fakes import RecordingBus
from tests.support.infra import Infra
from workrouter.adapters.rate_limiters import MemoryRateLimiter, RedisRateLimiter
from workrouter.config.catalog import load_catalog
from workrouter.domain.rate_limit import RateRule
from workrouter.ports.rate_limiter import RateLimiter
from workrouter.services.api.app import create_app
from workrouter.services.api.rate_limits import RateLimits, RateRules

RULE = RateRule(per_second=2.0, burst=3)


@pytest.fixture
async def client(infra: Infra) -> AsyncIterator[redis.Redis]:
    connection = redis.from_url(infra.redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
async def prefix(client: redis.Redis) -> AsyncIterator[str]:
    name = f"test-wr-rate-{uuid.uuid4().hex}"
    yield name
    keys = [k async for k in client.scan_iter(match=f"{name}:*")]
    if keys:
        await client.delete(*keys)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_both_limiters_count_the_same(backend: str, client: redis.Redis, prefix: str) -> None:
    limiter: RateLimiter = RedisRateLimiter(client, prefix) if backend == "redis" else MemoryRateLimiter()
    waits = [await limiter.hit("agent:emma", RULE, T0) for _ in range(4)]
    assert waits == [0.0, 0.0, 0.0, 0.5]
    assert await limiter.hit("agent:emma", RULE, T0 + 0.25) == pytest.approx(0.25)
    assert await limiter.hit("agent:emma", RULE, T0 + 0.5) == 0.0
    assert await limiter.hit("agent:farid", RULE, T0 + 0.5) == 0.0
    assert await limiter.hit("agent:emma", RateRule(0.0, 0), T0 + 0.5) == 0.0  # no rule, no count


async def test_a_bucket_key_expires_once_it_would_be_full(client: redis.Redis, prefix: str) -> None:
    await RedisRateLimiter(client, prefix).hit("source:crm", RULE, T0)
    ttl_ms = await client.pttl(f"{prefix}:rate:source:crm")
    assert 1_500 <= ttl_ms <= 2_500  # 3 tokens at 2/s refill in 1.5 s, plus a second


async def test_two_api_instances_share_each_agents_and_sources_limit(client: redis.Redis, prefix: str) -> None:
    catalog, routing, clock = load_catalog(SEED), seed_routing(), Clock()
    apps = [
        create_app(
            catalog,
            RecordingBus(),
            routing=routing,
            store=FakeAgentStore(),
            clock=clock,
            limits=RateLimits(RateRules(source=RULE, agent=RULE), RedisRateLimiter(client, prefix), clock),
        )
        for _ in range(2)
    ]
    a, b = (httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") for app in apps)
    async with a, b:
        assert [(await a.get("/v1/agent/me", headers=auth("emma"))).status_code for _ in range(3)] == [200] * 3
        response = await b.get("/v1/agent/me", headers=auth("emma"))  # the other instance sees emma's count
        assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
        assert (await b.get("/v1/agent/me", headers=auth("farid"))).status_code == 200
        task = {"external_id": "C-1", "type": "claim", "title": "Water damage", "attributes": {"department": "Claims"}}
        key = {"X-API-Key": "crm-demo-key"}
        statuses = [(await (a, b)[i % 2].post("/v1/tasks", json=task, headers=key)).status_code for i in range(4)]
        assert statuses == [202, 202, 202, 429]
        clock.now += 0.5
        assert (await b.get("/v1/agent/me", headers=auth("emma"))).status_code == 200
