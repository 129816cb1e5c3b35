"""Helpers for the agent API tests: the seed routing config, tokens, queue entries and a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.fake_agents import FakeAgentStore, FakeInbox
from tests.support.fakes import RecordingBus
from workrouter.config.catalog import Catalog
from workrouter.config.routing import RoutingConfig, load_routing_config
from workrouter.contracts.envelope import Envelope
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import Presence, needs
from workrouter.services.api.agent_context import StreamTimings
from workrouter.services.api.app import create_app
from workrouter.services.api.rate_limits import RateLimits
from workrouter.services.api.sign_in import SignIn

SEED = Path(__file__).resolve().parents[2] / "deploy" / "config"
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, the tests' "now"


def seed_routing() -> RoutingConfig:
    """The seed routing configuration (deploy/config)."""
    return load_routing_config(SEED)


def auth(agent_id: str) -> dict[str, str]:
    """The Authorization header of a seed agent's demo token."""
    return {"Authorization": f"Bearer {agent_id}-demo-token"}


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def entry(task_id: str, queue: str = "claims", **over: Any) -> QueueEntry:
    """A queue entry of the backoffice domain, enqueued at T0 unless told, needing claims 30 by default."""
    fields: dict[str, Any] = {
        "task_id": task_id,
        "queue": queue,
        "domain": "backoffice",
        "channel": "workitem",
        "needs": needs({"claims": 30}),
        "base": 100,
        "business_value": 0.0,
        "due_at": None,
        "enqueued_at": T0,
        "seq": int("".join(c for c in task_id if c.isdigit()) or 0),
        "title": f"Task {task_id}",
        "url": f"https://crm.example/{task_id}",
    }
    fields.update(over)
    return QueueEntry(**fields)


def published(bus_published: list[tuple[str, Envelope]], topic: str = "wr.routing") -> list[Envelope]:
    """The envelopes published to `topic`, in order."""
    return [event for t, event in bus_published if t == topic]


@dataclass
class Harness:
    """The api over a recording bus, the in-memory agent store and inbox, and a test clock."""

    client: httpx.AsyncClient
    bus: RecordingBus
    store: FakeAgentStore
    inbox: FakeInbox
    clock: Clock
    routing: RoutingConfig

    async def ready(self, *agent_ids: str) -> None:
        """Store the agents' seed profiles and make them READY."""
        for agent_id in agent_ids:
            await self.store.put_profile(self.routing.agents[agent_id])
            await self.store.set_presence(agent_id, Presence.READY, None, self.clock.now)

    def commands(self) -> list[Envelope]:
        """What was published on wr.routing."""
        return published(self.bus.published)


@asynccontextmanager
async def harness(
    catalog: Catalog,
    *,
    timings: StreamTimings | None = None,
    clock: Clock | None = None,
    routing: RoutingConfig | None = None,
    sign_in: SignIn | None = None,
    limits: RateLimits | None = None,
) -> AsyncIterator[Harness]:
    """A Harness over the seed configuration (or `routing`), with the sign-in and rate limits given."""
    bus, store, inbox = RecordingBus(), FakeAgentStore(), FakeInbox()
    clock, routing = clock or Clock(), routing or (sign_in.routing if sign_in else seed_routing())
    app = create_app(
        catalog,
        bus,
        routing=routing,
        store=store,
        inbox=inbox,
        clock=clock,
        timings=timings,
        sign_in=sign_in,
        limits=limits,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield Harness(client, bus, store, inbox, clock, routing)
