"""A membership change takes effect without a restart (issue 20), on real Redis: a supervisor switches one of
an agent's queues off and on through the api; the api's ChangeAgent reaches the router (handed over as the
bus would), which stops and resumes offering the queue's work; a second router taking the domain over
reads the same live directory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import redis.asyncio as redis

from tests.support.agent_api import SEED, auth, published, seed_routing
from tests.support.fakes import RecordingBus
from tests.support.infra import Infra
from tests.support.routing import Clock, Harness, router_on_redis
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.config.catalog import load_catalog
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskClassified
from workrouter.services.api.app import create_app

SAM, EMMA = auth("sam"), auth("emma")


def general_task(task_id: str, at: float) -> Envelope:
    payload = TaskClassified(
        task_id=task_id,
        queue="general",
        domain="backoffice",
        priority=100,
        rule="r",
        ruleset_version="1",
        title=task_id,
    )
    return make_event(payload, source="/test", key="backoffice", subject=task_id, time=datetime.fromtimestamp(at, UTC))


@pytest.fixture
async def stack(infra: Infra) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingBus, Harness, str]]:
    prefix = f"test-wr-live-{uuid.uuid4().hex}"
    client = redis.from_url(infra.redis_url)
    bus, clock = RecordingBus(), Clock()
    app = create_app(
        load_catalog(SEED), bus, routing=seed_routing(), store=RedisAgentStore(client, prefix), clock=clock
    )
    try:
        async with (
            router_on_redis(infra.redis_url, seed_routing(), prefix=prefix, clock=clock) as router,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
        ):
            yield http, bus, router, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


async def forward(bus: RecordingBus, router: Harness, sent: list[int]) -> None:
    """Hand the api's wr.routing commands not handed over yet to the router, in order."""
    commands = published(bus.published)
    for envelope in commands[sent[0] :]:
        await router.send(envelope)
    sent[0] = len(commands)


async def test_a_queue_switched_off_and_on_takes_effect_in_the_running_router(
    stack: tuple[httpx.AsyncClient, RecordingBus, Harness, str], infra: Infra
) -> None:
    http, bus, router, prefix = stack
    sent = [0]
    assert (await http.post("/v1/agent/presence", json={"presence": "ready"}, headers=EMMA)).status_code == 200
    off = await http.put("/v1/supervisor/agents/emma/queues/general", json={"active": False}, headers=SAM)
    assert off.status_code == 200, off.text
    await forward(bus, router, sent)
    await router.send(general_task("t1", router.clock.now))
    assert router.offers() == []  # emma (the only one ready) no longer takes general's work
    on = await http.put("/v1/supervisor/agents/emma/queues/general", json={"active": True}, headers=SAM)
    assert on.status_code == 200, on.text
    await forward(bus, router, sent)
    assert router.offers() == [("t1", "emma")]  # switched on: the waiting task is offered at once

    off = await http.put("/v1/supervisor/agents/emma/queues/general", json={"active": False}, headers=SAM)
    async with router_on_redis(infra.redis_url, seed_routing(), prefix=prefix) as second:  # a takeover, later
        assert "general" not in second.state.engine.agents["emma"].profile.queues
        assert "general" not in second.state.config.agents["emma"].queues
