"""Stale agent commands on real Redis: the api and the real router share one key prefix; the api's commands
are relayed to the router; what the router did is read back from Redis by the api, which then refuses the
stale command (409 / 404, nothing published)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from tests.support.agent_api import SEED, T0
from tests.support.agent_world import DOMAIN, World, agent_world
from tests.support.infra import Infra
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.config.catalog import Catalog, load_catalog
from workrouter.domain.routing.holds import offer_id

TASK_COMMANDS = [
    ("offers/t1/accept", None),
    ("offers/t1/reject", None),
    ("tasks/t1/start", None),
    ("tasks/t1/complete", {"wrap_up_code": "processed"}),
    ("tasks/t1/transfer", {"queue": "claims"}),
    ("tasks/t1/reschedule", {"wake_at": "2030-01-01T00:00:00Z"}),
    ("tasks/t1/reclassify", {"reason": "fraud"}),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SEED)


@pytest.fixture
async def w(infra: Infra, catalog: Catalog) -> AsyncIterator[World]:
    prefix = f"test-wr-stale-{uuid.uuid4().hex}"
    client = redis.from_url(infra.redis_url)
    try:
        async with agent_world(catalog, RedisAgentStore(client, prefix)) as world:
            yield world
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


async def test_an_answer_with_a_wrong_offer_id_is_a_409_and_the_offer_stays_open(w: World) -> None:
    await w.login("emma")
    await w.classify("t1")
    (offer,) = w.events("offered")
    for sent in ("made-up", offer_id("t1", "emma", T0 - 1)):
        response = await w.post("/v1/agent/offers/t1/accept", "emma", {"offer_id": sent})
        assert response.status_code == 409
        assert [e["loc"] for e in response.json()["errors"]] == ["body.offer_id"]
        assert response.json()["offer_id"] == offer.offer_id
    assert w.commands()[-1].type.endswith("change_presence")  # nothing published for the refused answers
    holder = await w.store.holder("t1")
    assert holder is not None
    assert (holder.agent_id, holder.kind) == ("emma", "offer")
    assert (await w.post("/v1/agent/offers/t1/accept", "emma", {"offer_id": offer.offer_id})).status_code == 202
    await w.relay()
    assert [a.offer_id for a in w.events("accepted")] == [offer.offer_id]


async def test_commands_after_completion_are_refused_and_nothing_is_published(w: World) -> None:
    await w.login("emma")
    await w.classify("t1")
    assert (await w.post("/v1/agent/offers/t1/accept", "emma")).status_code == 202
    await w.relay()
    assert (await w.post("/v1/agent/tasks/t1/complete", "emma", {"wrap_up_code": "processed"})).status_code == 202
    await w.relay()
    entry = await w.store.get_task(DOMAIN, "t1")
    assert entry is not None
    assert entry["after_work_until"] == T0 + 15  # queue general: 15 s of after-work

    async def answers(agent: str) -> dict[str, tuple[int, str | None]]:
        before = len(w.commands())
        found = {}
        for path, body in TASK_COMMANDS:
            response = await w.post(f"/v1/agent/{path}", agent, body)
            found[path] = (response.status_code, response.json().get("state"))
        assert len(w.commands()) == before
        return found

    assert await answers("emma") == {path: (409, "after_work") for path, _ in TASK_COMMANDS}
    await w.at(15)
    assert await w.store.holder("t1") is None
    assert await answers("emma") == {path: (404, "unknown") for path, _ in TASK_COMMANDS}
    assert [c.agent_id for c in w.events("completed")] == ["emma"]
