"""A router over real Redis, driven message by message with a hand-set clock (integration tests)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as redis

from tests.support.fakes import RecordingBus
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.bus.port import Delivery
from workrouter.config.routing import RoutingConfig
from workrouter.config.routing_codes import Code, NotReadyReason
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.common import SkillRequirement
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.contracts.task_events import TaskClassified
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy, Tier
from workrouter.services.router.router import Router, RouterOptions

DOMAIN = "backoffice"
T0 = 1_800_000_000.0


def config(queues: list[QueuePolicy] | None = None, agents: list[AgentProfile] | None = None) -> RoutingConfig:
    """A routing config built in code: by default one push queue `q` and three agents a, b, c."""
    queues = queues or [
        QueuePolicy("q", DOMAIN, tiers=(Tier(50), Tier(0, 60.0)), offer_timeout_seconds=30.0),
        QueuePolicy("pull", DOMAIN, mode=Mode.PULL),
    ]
    agents = agents or [
        AgentProfile("a", {"s": 90}, frozenset({"q", "pull"}), {"workitem": 2}),
        AgentProfile("b", {"s": 70}, frozenset({"q", "pull"}), {"workitem": 2}),
        AgentProfile("c", {"s": 20}, frozenset({"q", "pull"}), {"workitem": 1}),
    ]
    return RoutingConfig(
        queues={q.name: q for q in queues},
        agents={a.agent_id: a for a in agents},
        agent_tokens={},
        not_ready_reasons={r: NotReadyReason(id=r, label=r, system=r == "rona") for r in ("lunch", "rona")},
        wrap_up_codes={c: Code(id=c, label=c) for c in ("processed", "transferred")},
    )


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def classified(
    task_id: str,
    queue: str = "q",
    *,
    priority: int = 100,
    level: int = 0,
    at: float = T0,
    preferred: tuple[str, ...] = (),
    captured_at: float | None = None,
    due_at: float | None = None,
) -> Envelope:
    """A TaskClassified for the router, keyed by the domain, stamped at `at` (the wait clock)."""
    payload = TaskClassified(
        task_id=task_id,
        queue=queue,
        domain=DOMAIN,
        skills=[SkillRequirement(skill="s", min_level=level)],
        priority=priority,
        rule="r",
        ruleset_version="1",
        title=f"task {task_id}",
        url=f"https://crm/{task_id}",
        preferred_agents=list(preferred),
        captured_at=None if captured_at is None else datetime.fromtimestamp(captured_at, UTC),
        due_at=None if due_at is None else datetime.fromtimestamp(due_at, UTC),
    )
    return make_event(payload, source="/test", key=DOMAIN, subject=task_id, time=datetime.fromtimestamp(at, UTC))


def command(payload: Payload) -> Envelope:
    """A command on wr.routing, keyed by its domain."""
    return make_event(payload, source="/test", key=DOMAIN)


class Harness:
    """Router + recording bus + clock over one fresh Redis prefix."""

    def __init__(self, router: Router, bus: RecordingBus, store: RedisAgentStore, clock: Clock) -> None:
        self.router, self.bus, self.store, self.clock = router, bus, store, clock
        self._offsets = itertools.count()

    @property
    def state(self) -> Any:
        """The domain's state."""
        return self.router.domains[DOMAIN]

    async def send(self, envelope: Envelope) -> None:
        """Deliver one message to the router."""
        await self.router.handle(envelope, Delivery("wr.routing", 0, next(self._offsets), DOMAIN, 1))

    async def ready(self, agent_id: str, presence: Presence = Presence.READY, reason: str | None = None) -> None:
        """What the api does: presence into Redis, then the command to the router."""
        await self.store.set_presence(agent_id, presence, reason, self.clock())
        await self.send(
            command(ac.ChangePresence(agent_id=agent_id, domain=DOMAIN, presence=presence.value, reason=reason))
        )

    async def at(self, seconds: float) -> None:
        """Move the clock to T0 + seconds and fire the timers due."""
        self.clock.now = T0 + seconds
        await self.router.tick(self.state)

    def events(self, event_type: str) -> list[Any]:
        """Payloads of the published events of one type (short name, e.g. 'offered'), in order."""
        return [e.data for _, e in self.bus.published if e.type.endswith("." + event_type)]

    def offers(self) -> list[tuple[str, str]]:
        """(task, agent) of every TaskOffered, in order."""
        return [(d.task_id, d.agent_id) for d in self.events("offered")]


@asynccontextmanager
async def router_on_redis(
    url: str,
    cfg: RoutingConfig | None = None,
    prefix: str | None = None,
    clock: Clock | None = None,
    options: RouterOptions | None = None,
) -> AsyncIterator[Harness]:
    """A router owning every domain of `cfg`, on a fresh key prefix (deleted after unless given)."""
    own = prefix is None
    prefix = prefix or f"test-wr-{uuid.uuid4().hex}"
    client = redis.from_url(url)
    store = RedisAgentStore(client, prefix)
    bus = RecordingBus()
    clock = clock or Clock()
    router = Router(cfg or config(), store, bus, TopicNames(), clock=clock, options=options)
    await router.on_assign(set(range(router.options.partitions)))
    try:
        yield Harness(router, bus, store, clock)
    finally:
        await router.close()
        if own:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
            if keys:
                await client.unlink(*keys)
        await client.aclose()
