"""The agent and supervisor API on a real Redis: presence, claims and get-next reserve atomically, own work only,
the live event stream over pub/sub (a real HTTP server), and explanations."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as redis
import uvicorn

from tests.support.agent_api import SEED, T0, Clock, auth, entry, published, seed_routing
from tests.support.fakes import RecordingBus
from tests.support.infra import Infra
from tests.support.wait import wait_until, wait_until_async
from workrouter.adapters.redis_agent_records import Holder
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.adapters.redis_inbox import RedisInbox
from workrouter.config.catalog import Catalog, load_catalog
from workrouter.config.routing import RoutingConfig
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import Presence, needs
from workrouter.services.api.agent_context import StreamTimings
from workrouter.services.api.app import create_app

EMMA, GRACE, FARID, SAM = auth("emma"), auth("grace"), auth("farid"), auth("sam")


@dataclass
class Live:
    """The api over a real Redis (a fresh key prefix), a recording bus and a test clock."""

    app: object
    client: httpx.AsyncClient
    redis: redis.Redis
    store: RedisAgentStore
    bus: RecordingBus
    clock: Clock
    routing: RoutingConfig
    prefix: str

    async def ready(self, *agent_ids: str) -> None:
        for agent_id in agent_ids:
            await self.store.put_profile(self.routing.agents[agent_id])
            await self.store.set_presence(agent_id, Presence.READY, None, self.clock.now)

    async def queue(self, *entries: QueueEntry) -> None:
        for e in entries:
            await self.store.save_task(e.domain, e.task_id, e.to_json())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SEED)


@pytest.fixture
async def live(infra: Infra, catalog: Catalog) -> AsyncIterator[Live]:
    prefix = f"test-wr-api-{uuid.uuid4().hex}"
    client = redis.from_url(infra.redis_url)
    store = RedisAgentStore(client, prefix)
    bus, clock, routing = RecordingBus(), Clock(), seed_routing()
    timings = StreamTimings(keepalive_seconds=0.3, heartbeat_seconds=0.1)
    app = create_app(
        catalog,
        bus,
        routing=routing,
        store=store,
        inbox=RedisInbox(client, store.inbox),
        clock=clock,
        timings=timings,
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            yield Live(app, http, client, store, bus, clock, routing, prefix)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


async def test_tokens_and_supervisor_rights(live: Live) -> None:
    assert (await live.client.get("/v1/agent/me")).status_code == 401
    assert (await live.client.get("/v1/agent/me", headers={"Authorization": "Bearer nope"})).status_code == 401
    response = await live.client.post("/v1/supervisor/tasks/t1/assign", json={"agent_id": "emma"}, headers=EMMA)
    assert response.status_code == 403
    await live.queue(entry("t1"))
    response = await live.client.post("/v1/supervisor/tasks/t1/assign", json={"agent_id": "emma"}, headers=SAM)
    assert (response.status_code, "agent emma is offline" in response.json()["detail"]) == (409, True)
    await live.ready("emma")  # the router forces a task only on a logged-in agent with room
    response = await live.client.post("/v1/supervisor/tasks/t1/assign", json={"agent_id": "emma"}, headers=SAM)
    assert response.status_code == 202
    (event,) = published(live.bus.published)
    assert event.data == ac.SupervisorAssign(
        agent_id="emma", domain="backoffice", task_id="t1", action="force_assign", supervisor="sam"
    )


async def test_presence_is_written_to_redis_and_published(live: Live) -> None:
    body = {"presence": "not_ready", "reason": "meeting"}
    assert (await live.client.post("/v1/agent/presence", json=body, headers=EMMA)).status_code == 200
    assert await live.store.get_presence("emma") == (Presence.NOT_READY, "meeting", T0, 1)
    assert await live.store.get_profile("emma") == live.routing.agents["emma"]
    assert [e.data for e in published(live.bus.published)] == [
        ac.ChangePresence(agent_id="emma", domain="backoffice", presence="not_ready", reason="meeting")
    ]
    me = (await live.client.get("/v1/agent/me", headers=EMMA)).json()
    assert (me["presence"], me["reason"], me["load"], me["holds"]) == ("not_ready", "meeting", {}, [])
    assert (await live.client.post("/v1/agent/heartbeat", headers=EMMA)).status_code == 200
    assert (await live.client.post("/v1/agent/presence", json={"presence": "offline"}, headers=EMMA)).status_code == 200
    assert (await live.client.post("/v1/agent/heartbeat", headers=EMMA)).status_code == 409


async def test_claim_and_get_next_reserve_in_redis(live: Live) -> None:
    await live.ready("emma")
    await live.queue(entry("t1", base=100), entry("t2", base=500), entry("t3", base=300))
    listed = (await live.client.get("/v1/agent/workbins/claims", headers=EMMA)).json()["tasks"]
    assert [t["task_id"] for t in listed] == ["t2", "t3", "t1"]
    assert (await live.client.post("/v1/agent/workbins/claims/claim/t3", headers=EMMA)).status_code == 200
    assert await live.store.holder("t3") == Holder("emma", "workitem", "assign", T0)
    nxt = await live.client.post("/v1/agent/next", headers=EMMA)
    assert (nxt.status_code, nxt.json()["task"]["task_id"]) == (200, "t2")
    assert await live.store.holder("t2") == Holder("emma", "workitem", "claim", T0)
    assert await live.store.load("emma") == {"workitem": 2}
    assert await live.store.held("emma") == {"t2", "t3"}
    assert [(e.data.task_id, e.data.how) for e in published(live.bus.published)] == [  # type: ignore[attr-defined]
        ("t3", "pull"),
        ("t2", "get_next"),
    ]
    listed = (await live.client.get("/v1/agent/workbins/claims", headers=EMMA)).json()["tasks"]
    assert [t["task_id"] for t in listed] == ["t1"]
    await live.ready("grace")
    response = await live.client.post("/v1/agent/claim/t3", headers=GRACE)
    assert (response.status_code, "taken by another agent" in response.json()["detail"]) == (409, True)
    await live.store.set_presence("grace", Presence.NOT_READY, "lunch", T0)
    response = await live.client.post("/v1/agent/claim/t1", headers=GRACE)
    assert (response.status_code, "not ready" in response.json()["detail"]) == (409, True)


async def test_an_agent_acts_only_on_its_own_work(live: Live) -> None:
    await live.ready("emma", "grace")
    await live.queue(entry("t1"), entry("t2"))
    assert (await live.client.post("/v1/agent/claim/t1", headers=EMMA)).status_code == 200
    assert (await live.client.post("/v1/agent/tasks/t1/complete", headers=GRACE)).status_code == 403
    assert (await live.client.post("/v1/agent/tasks/t2/complete", headers=GRACE)).status_code == 409
    assert (await live.client.post("/v1/agent/tasks/t9/complete", headers=GRACE)).status_code == 404
    assert (await live.client.post("/v1/agent/tasks/t1/start", headers=EMMA)).status_code == 409  # assigned already
    done = await live.client.post("/v1/agent/tasks/t1/complete", json={"wrap_up_code": "processed"}, headers=EMMA)
    assert done.status_code == 202
    assert published(live.bus.published)[-1].data == ac.FinishTask(
        agent_id="emma", domain="backoffice", task_id="t1", wrap_up_code="processed"
    )


async def test_fifty_concurrent_claims_never_over_commit(live: Live) -> None:
    await live.ready("emma", "grace")  # capacities 5 and 2
    tasks = [entry(f"t{i}", needs=needs({"claims": 30})) for i in range(1, 21)]
    await live.queue(*tasks)
    rng = random.Random(7)
    asks = [(rng.choice(["emma", "grace"]), rng.choice(tasks).task_id) for _ in range(50)]
    responses = await asyncio.gather(
        *(live.client.post(f"/v1/agent/claim/{task_id}", headers=auth(agent)) for agent, task_id in asks)
    )
    won = Counter(agent for (agent, _), r in zip(asks, responses, strict=True) if r.status_code == 200)
    assert {r.status_code for r in responses} <= {200, 409}
    assert won == {"emma": 5, "grace": 2}
    assert await live.store.load("emma") == {"workitem": 5}
    assert await live.store.load("grace") == {"workitem": 2}
    holders = await live.store.holders(t.task_id for t in tasks)
    assert Counter(h.agent_id for h in holders.values()) == {"emma": 5, "grace": 2}
    assert len(published(live.bus.published)) == 7

    await live.ready("farid")  # capacity 5; get-next races with the same list of candidates
    live.clock.now = T0 + 600  # tier 1 (40) lets farid (claims 55) in
    nexts = await asyncio.gather(*(live.client.post("/v1/agent/next", headers=FARID) for _ in range(12)))
    assert sorted(r.status_code for r in nexts).count(200) == 5
    assert await live.store.load("farid") == {"workitem": 5}
    assert len(await live.store.held("farid")) == 5


async def test_explain_waiting_and_held_tasks(live: Live) -> None:
    await live.ready("emma", "farid")
    await live.queue(entry("t1", enqueued_at=T0 - 60), entry("t2"))
    body = (await live.client.get("/v1/tasks/t1/explain", headers=SAM)).json()
    assert (body["state"], body["tier"], body["tier_min_level"]) == ("waiting", 0, 70)
    assert body["next_tier_in_seconds"] == 540
    verdicts = {a["agent_id"]: (a["eligible"], a["reason"]) for a in body["agents"]}
    assert verdicts == {"emma": (True, "eligible"), "farid": (False, "claims level 55 < 70 needed in tier 0")}
    assert (await live.client.post("/v1/agent/claim/t2", headers=EMMA)).status_code == 200
    body = (await live.client.get("/v1/tasks/t2/explain", headers=EMMA)).json()
    assert (body["state"], body["agent_id"], body["how"], body["since"]) == ("assigned", "emma", "assign", T0)
    assert (await live.client.get("/v1/tasks/t2/explain", headers=FARID)).status_code == 403


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(live: Live) -> AsyncIterator[str]:
    """The same app behind a real uvicorn server on a free port."""
    port = free_port()
    config = uvicorn.Config(
        live.app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    await wait_until(lambda: running.started, timeout=10, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        await task


async def test_the_event_stream_sends_a_snapshot_then_notifications(live: Live, server: str) -> None:
    await live.ready("emma")
    await live.queue(entry("t1"))
    assert (await live.client.post("/v1/agent/claim/t1", headers=EMMA)).status_code == 200
    channel = live.store.inbox("emma")
    live.clock.now = T0 + 30
    async with (
        httpx.AsyncClient(base_url=server, timeout=10) as http,
        http.stream("GET", "/v1/agent/events", headers=EMMA) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert await anext(lines) == "event: snapshot"
        snapshot = json.loads((await anext(lines)).removeprefix("data: "))
        assert [(h["task_id"], h["state"]) for h in snapshot["holds"]] == [("t1", "assigned")]
        await live.store.notify("emma", {"event": "offered", "task_id": "t7", "offer_id": "o7"})
        seen: list[str] = []
        while "event: offered" not in seen:
            seen.append(await anext(lines))
        data = json.loads((await anext(lines)).removeprefix("data: "))
        assert data == {"event": "offered", "task_id": "t7", "offer_id": "o7"}
        while ": keep-alive" not in seen:
            seen.append(await anext(lines))
        score = await live.redis.zscore(f"{live.prefix}:heartbeats", "emma")
        assert score == T0 + 30  # heartbeats recorded while the stream is open
        assert (await live.redis.pubsub_numsub(channel))[0][1] == 1

    async def subscribers() -> int:
        return int((await live.redis.pubsub_numsub(channel))[0][1])

    async def unsubscribed() -> bool:
        return await subscribers() == 0

    await wait_until_async(unsubscribed, timeout=10, what="the stream to unsubscribe after the client went away")
