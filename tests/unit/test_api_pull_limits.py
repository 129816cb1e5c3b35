"""How far a listing looks (docs/api-agents.md): past a thousand tasks an agent may not take yet, a listing
says it was cut short and get-next says nothing, rather than answer a task that may not be the best."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.agent_api import T0, Harness, auth, entry, harness
from workrouter.config.catalog import Catalog
from workrouter.domain.routing.model import needs
from workrouter.domain.routing.pull_walk import MAX_SCAN

EMMA, FARID = auth("emma"), auth("farid")


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        yield built


async def listing(h: Harness, headers: dict[str, str]) -> tuple[list[str], bool]:
    response = await h.client.get("/v1/agent/workbins/claims?limit=5", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return [t["task_id"] for t in body["tasks"]], body["truncated"]


async def test_a_burst_of_young_tasks_ahead_cuts_a_second_tier_agents_listing_short(h: Harness) -> None:
    # farid (claims 55) may take a task of claims 30 only from tier 1, once it waited 10 minutes
    for n in range(MAX_SCAN + 5):  # a burst just in, at the top
        h.store.queue(entry(f"young{n:04d}", base=900, seq=n + 10))
    h.store.queue(entry("old", base=100, enqueued_at=T0 - 3600, seq=1))
    h.store.queue(entry("fraud", base=950, needs=needs({"fraud": 50}), seq=2))  # a class farid lacks: never read
    assert await listing(h, FARID) == ([], True)
    await h.ready("farid")
    assert (await h.client.post("/v1/agent/next", headers=FARID)).status_code == 204
    # emma may take the young ones: her page is whole
    assert await listing(h, EMMA) == (["fraud", "young0000", "young0001", "young0002", "young0003"], False)
    h.clock.now = T0 + 600  # the burst reaches tier 1: nothing is cut short any more
    assert await listing(h, FARID) == (["young0000", "young0001", "young0002", "young0003", "young0004"], False)


async def test_a_short_burst_is_read_past(h: Harness) -> None:
    for n in range(50):
        h.store.queue(entry(f"young{n:04d}", base=900, seq=n + 10))
    h.store.queue(entry("old", base=100, enqueued_at=T0 - 3600, seq=1))
    assert await listing(h, FARID) == (["old"], False)
    await h.ready("farid")
    response = await h.client.post("/v1/agent/next", headers=FARID)
    assert (response.status_code, response.json()["task"]["task_id"]) == (200, "old")
