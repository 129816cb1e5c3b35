"""The agent's event stream: subscribe first, then a snapshot, then notifications, keep-alives and heartbeats."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator

import httpx
import pytest

from tests.support.agent_api import T0, Clock, auth, entry, harness, seed_routing
from tests.support.fake_agents import FakeAgentStore, FakeInbox
from tests.support.fakes import RecordingBus
from workrouter.adapters.redis_agent_records import Holder, PresenceState
from workrouter.config.catalog import Catalog
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import Presence
from workrouter.services.api.agent_context import AgentApi, Caller, StreamTimings
from workrouter.services.api.app import create_app
from workrouter.services.api.streams import KEEPALIVE, agent_events, event_name, sse


class RacyStore(FakeAgentStore):
    """A store in which a notification is published while the snapshot is being read."""

    def __init__(self, inbox: FakeInbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def get_presence(self, agent_id: str) -> PresenceState:
        self.inbox.notify(agent_id, {"event": "offered", "task_id": "t2"})
        return await super().get_presence(agent_id)


class Disconnect:
    """The stream's view of the connection; the test closes it."""

    def __init__(self) -> None:
        self.closed = False

    async def __call__(self) -> bool:
        return self.closed


def parse(chunk: str) -> tuple[str, dict[str, object]]:
    event, data = chunk.strip().split("\n")
    return event.removeprefix("event: "), json.loads(data.removeprefix("data: "))


@pytest.fixture
def inbox() -> FakeInbox:
    return FakeInbox()


@pytest.fixture
async def stream(inbox: FakeInbox) -> AsyncIterator[tuple[AsyncGenerator[str, None], RacyStore, Clock, Disconnect]]:
    store, clock, closed = RacyStore(inbox), Clock(), Disconnect()
    routing = seed_routing()
    timings = StreamTimings(keepalive_seconds=0.2, heartbeat_seconds=0.05)
    api = AgentApi(routing, store, RecordingBus(), TopicNames(), inbox=inbox, clock=clock, timings=timings)
    await store.put_profile(routing.agents["emma"])
    await store.set_presence("emma", Presence.READY, None, T0)
    store.queue(entry("t1"))
    store.holds["t1"] = Holder("emma", "workitem", "offer", T0)
    caller = Caller("emma", "backoffice", routing.agents["emma"], supervisor=False)
    events = agent_events(api, caller, closed)
    yield events, store, clock, closed
    await events.aclose()


async def test_snapshot_first_then_every_notification(
    stream: tuple[AsyncGenerator[str, None], RacyStore, Clock, Disconnect], inbox: FakeInbox
) -> None:
    events, store, clock, closed = stream
    name, snapshot = parse(await anext(events))
    assert name == "snapshot"
    assert (snapshot["presence"], [h["task_id"] for h in snapshot["holds"]]) == ("ready", ["t1"])  # type: ignore[attr-defined]
    assert len(inbox.open["emma"]) == 1
    # published while the snapshot was read: delivered, because the stream subscribed first
    assert parse(await anext(events)) == ("offered", {"event": "offered", "task_id": "t2"})
    inbox.notify("emma", {"event": "revoked", "task_id": "t1", "reason": "rona"})
    assert parse(await anext(events)) == ("revoked", {"event": "revoked", "task_id": "t1", "reason": "rona"})

    clock.now = T0 + 42
    chunks = []
    while (chunk := await anext(events)) != KEEPALIVE:
        chunks.append(chunk)
    assert chunks == []
    assert store.heartbeats["emma"] == T0 + 42  # recorded while connected

    closed.closed = True
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    assert inbox.open["emma"] == []  # unsubscribed on disconnect


async def test_closing_the_stream_drops_the_subscription(
    stream: tuple[AsyncGenerator[str, None], RacyStore, Clock, Disconnect], inbox: FakeInbox
) -> None:
    events = stream[0]
    await anext(events)
    assert len(inbox.open["emma"]) == 1
    await events.aclose()
    assert inbox.open["emma"] == []


def test_sse_framing() -> None:
    assert sse("offered", {"task_id": "t1"}) == 'event: offered\ndata: {"task_id":"t1"}\n\n'
    assert event_name({"event": "assigned"}) == "assigned"
    assert event_name({"event": "bad name\n"}) == "message"
    assert event_name({"task_id": "t1"}) == "message"


async def test_the_events_route_needs_a_token_and_an_inbox(catalog: Catalog) -> None:
    async with harness(catalog) as h:
        assert (await h.client.get("/v1/agent/events")).status_code == 401
    app = create_app(catalog, RecordingBus(), routing=seed_routing(), store=FakeAgentStore())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        response = await client.get("/v1/agent/events", headers=auth("emma"))
    assert response.status_code == 503
    assert "inbox" in response.json()["detail"]
