"""Rate limits: token-bucket arithmetic, and 429 with Retry-After per source key and per agent (a fake clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.agent_api import T0, Clock, Harness, auth, harness
from workrouter.adapters.rate_limiters import MAX_MEMORY_BUCKETS, MemoryRateLimiter
from workrouter.config.catalog import Catalog
from workrouter.domain.rate_limit import Bucket, RateRule, retry_after_header, take
from workrouter.services.api.rate_limits import RateLimits, RateRules

RULE = RateRule(per_second=2.0, burst=3)
TASK = {"external_id": "CASE-1", "type": "claim", "title": "Water damage", "attributes": {"department": "Claims"}}


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    bucket, waits = None, []
    for _ in range(4):
        bucket, wait = take(bucket, RULE, T0)
        waits.append(wait)
    assert waits == [0.0, 0.0, 0.0, 0.5]  # the 4th waits for one token at 2/s
    assert take(bucket, RULE, T0 + 0.5)[1] == 0.0
    assert take(Bucket(0.0, T0), RULE, T0 + 60) == (Bucket(2.0, T0 + 60), 0.0)  # refills to the burst, no more
    assert take(Bucket(0.0, T0), RULE, T0 - 5)[1] == 0.5  # a clock going backwards refills nothing


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [retry_after_header(w) for w in (0.01, 1.0, 1.2, 9.99)] == ["1", "1", "2", "10"]


async def test_the_memory_limiter_forgets_full_buckets_when_it_holds_too_many() -> None:
    limiter = MemoryRateLimiter()
    for i in range(MAX_MEMORY_BUCKETS):
        await limiter.hit(f"sign_in:guess-{i}", RULE, T0)
    assert await limiter.hit("agent:emma", RULE, T0 + 10) == 0.0
    assert len(limiter.buckets) == 1


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    clock = Clock()
    limits = RateLimits(RateRules(source=RULE, agent=RULE), clock=clock)
    async with harness(catalog, clock=clock, limits=limits) as built:
        yield built


async def test_a_source_over_its_rate_gets_429_with_retry_after(h: Harness) -> None:
    key = {"X-API-Key": "crm-demo-key"}
    statuses = [(await h.client.post("/v1/tasks", json=TASK, headers=key)).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    response = await h.client.post("/v1/tasks", json=TASK, headers=key)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
    assert response.json()["detail"] == "too many requests: this source's requests exceed 2/s; retry later"
    assert len(h.bus.published) == 3  # nothing published for a refused request
    h.clock.now += 0.5
    assert (await h.client.post("/v1/tasks", json=TASK, headers=key)).status_code == 202


async def test_each_agent_has_its_own_bucket_and_unknown_tokens_spend_none(h: Harness) -> None:
    for _ in range(5):
        assert (await h.client.get("/v1/agent/me", headers={"Authorization": "Bearer nope"})).status_code == 401
    statuses = [(await h.client.get("/v1/agent/me", headers=auth("emma"))).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = await h.client.post("/v1/supervisor/tasks/x/assign", json={"agent_id": "farid"}, headers=auth("emma"))
    assert response.status_code == 429  # every route of the agent counts, the supervisor's too
    assert (await h.client.get("/v1/agent/me", headers=auth("farid"))).status_code == 200


async def test_without_rules_nothing_is_limited(catalog: Catalog) -> None:
    async with harness(catalog) as h:
        for _ in range(50):
            assert (await h.client.get("/v1/agent/me", headers=auth("emma"))).status_code == 200
