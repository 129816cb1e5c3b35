"""The agent API and the router over one live store (in memory or real Redis), the api's commands relayed to
the router message by message, as Kafka would carry them: for tests of what the api answers once the router
has acted (a command after completion, after a reject, with an offer id that is no longer open)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.agent_api import T0, Clock, auth, published, seed_routing
from tests.support.fake_router_store import FakeRouterStore
from tests.support.fakes import RecordingBus
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.bus.port import Delivery
from workrouter.config.catalog import Catalog
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskClassified
from workrouter.contracts.topics import TopicNames
from workrouter.services.api.app import create_app
from workrouter.services.router.router import Router

DOMAIN = "backoffice"


@dataclass
class World:
    """The api (an HTTP client), the router, their buses, the shared store and the clock."""

    client: httpx.AsyncClient
    api_bus: RecordingBus
    router: Router
    router_bus: RecordingBus
    store: FakeRouterStore | RedisAgentStore
    clock: Clock
    relayed: int = 0
    _offsets: itertools.count[int] = field(default_factory=itertools.count)

    async def post(self, path: str, agent: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """POST to the api as `agent` (its demo token)."""
        return await self.client.post(path, json=body, headers=auth(agent))

    def commands(self) -> list[Envelope]:
        """Every command the api published on wr.routing."""
        return published(self.api_bus.published)

    async def relay(self) -> int:
        """Deliver the api's commands the router has not seen yet; how many."""
        fresh = self.commands()[self.relayed :]
        for envelope in fresh:
            await self.send(envelope)
        self.relayed += len(fresh)
        return len(fresh)

    async def send(self, envelope: Envelope) -> None:
        """One message on wr.routing, to the router."""
        await self.router.handle(envelope, Delivery("wr.routing", 0, next(self._offsets), envelope.partitionkey, 1))

    async def login(self, *agents: str) -> None:
        """The agents set themselves ready through the api; the router follows."""
        for agent in agents:
            assert (await self.post("/v1/agent/presence", agent, {"presence": "ready"})).status_code == 200
        await self.relay()

    async def classify(self, task_id: str, queue: str = "general") -> None:
        """A TaskClassified from the prioritiser: the router queues the task and offers it."""
        payload = TaskClassified(
            task_id=task_id, queue=queue, domain=DOMAIN, priority=100, rule="r", ruleset_version="1", title=task_id
        )
        await self.send(make_event(payload, source="/test", key=DOMAIN, subject=task_id, time=self.time()))

    async def at(self, seconds: float) -> None:
        """Move the clock to T0 + seconds and fire the domain's due timers (offer timeouts, after-work)."""
        self.clock.now = T0 + seconds
        await self.router.tick(self.router.domains[DOMAIN])

    def events(self, kind: str) -> list[Any]:
        """Payloads the router published of one type (short name, e.g. 'completed'), in order."""
        return [e.data for _, e in self.router_bus.published if e.type.endswith("." + kind)]

    def time(self) -> datetime:
        """The clock's time as a datetime."""
        return datetime.fromtimestamp(self.clock.now, UTC)


@asynccontextmanager
async def agent_world(
    catalog: Catalog, store: FakeRouterStore | RedisAgentStore, clock: Clock | None = None
) -> AsyncIterator[World]:
    """The api and a router owning every seed domain, over `store` (both the api's and the router's store)."""
    routing, clock = seed_routing(), clock or Clock()
    api_bus, router_bus = RecordingBus(), RecordingBus()
    app = create_app(catalog, api_bus, routing=routing, store=store, clock=clock)
    router = Router(routing, store, router_bus, TopicNames(), clock=clock)
    await router.on_assign(set(range(router.options.partitions)))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield World(client, api_bus, router, router_bus, store, clock)
    finally:
        await router.close()
