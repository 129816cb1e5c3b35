"""Two routers, one per routing domain, sharing one agent store and blended agents (decisions D21).

Each router owns one domain (its partition of `wr.routing`) and publishes on a bus of its own; `pump`
plays Kafka for `wr.routing`: it hands every SyncAgent a router published to the router of the domain it
is keyed by, in the order published, until none is left.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.fakes import RecordingBus
from tests.support.routing import T0, Clock
from workrouter.bus.port import Delivery
from workrouter.config.routing import RoutingConfig
from workrouter.config.routing_codes import Code, NotReadyReason
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskClassified
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy
from workrouter.services.router.effects import AgentStore
from workrouter.services.router.router import Router, RouterOptions

VOICE, EMAIL = "voice", "email"  # two domains on different partitions of six (checked by `blended_routers`)


def blended_config(capacity: int = 1, offer_timeout: float = 30.0) -> RoutingConfig:
    """Push queues `qv` (voice) and `qe` (email), pull queue `pe` (email); `x` serves all three (blended,
    `capacity` work items at once), `v` serves voice only and `e` email's push queue only (one each)."""
    queues = [
        QueuePolicy("qv", VOICE, offer_timeout_seconds=offer_timeout),
        QueuePolicy("qe", EMAIL, offer_timeout_seconds=offer_timeout),
        QueuePolicy("pe", EMAIL, mode=Mode.PULL),
    ]
    agents = [
        AgentProfile("x", {}, frozenset({"qv", "qe", "pe"}), {"workitem": capacity}),
        AgentProfile("v", {}, frozenset({"qv"}), {"workitem": 1}),
        AgentProfile("e", {}, frozenset({"qe"}), {"workitem": 1}),
    ]
    return RoutingConfig(
        queues={q.name: q for q in queues},
        agents={a.agent_id: a for a in agents},
        agent_tokens={},
        not_ready_reasons={r: NotReadyReason(id=r, label=r, system=r == "rona") for r in ("lunch", "rona")},
        wrap_up_codes={"processed": Code(id="processed", label="processed")},
    )


def classified(task_id: str, domain: str, at: float = T0, queue: str | None = None) -> Envelope:
    """A TaskClassified into the domain's push queue (or `queue`), keyed by the domain."""
    queue = queue or ("qv" if domain == VOICE else "qe")
    payload = TaskClassified(
        task_id=task_id, queue=queue, domain=domain, priority=100, rule="r", ruleset_version="1", title=task_id
    )
    return make_event(payload, source="/test", key=domain, subject=task_id, time=datetime.fromtimestamp(at, UTC))


@dataclass
class Blended:
    """The two routers, their buses, the shared store and the clock."""

    routers: dict[str, Router]
    buses: dict[str, RecordingBus]
    store: Any
    clock: Clock
    config: RoutingConfig
    pumped: dict[str, int] = field(default_factory=dict)  # per bus: how many of its publications were looked at
    offsets: itertools.count[int] = field(default_factory=itertools.count)

    async def send(self, envelope: Envelope) -> None:
        """Deliver one message of `wr.routing` to the router owning its key's domain."""
        domain = envelope.partitionkey
        router = self.routers[domain]
        await router.handle(
            envelope, Delivery("wr.routing", router.domain_partition(domain), next(self.offsets), domain, 1)
        )

    async def command(self, payload: ac.AgentCommand) -> None:
        """An agent command, keyed by its domain."""
        await self.send(
            make_event(payload, source="/test", key=payload.domain, time=datetime.fromtimestamp(self.clock(), UTC))
        )

    async def presence(self, agent_id: str, presence: Presence, reason: str | None = None) -> None:
        """What the api does: the presence into the store, then ChangePresence to each of the agent's domains."""
        await self.store.set_presence(agent_id, presence, reason, self.clock())
        for domain in self.config.domains_of(agent_id):
            await self.command(
                ac.ChangePresence(agent_id=agent_id, domain=domain, presence=presence.value, reason=reason)
            )

    def syncs_pending(self) -> list[ac.SyncAgent]:
        """The SyncAgent messages published and not delivered yet, in publication order per bus."""
        out: list[ac.SyncAgent] = []
        for name, bus in self.buses.items():
            out += [e.data for _, e in bus.published[self.pumped.get(name, 0) :] if isinstance(e.data, ac.SyncAgent)]
        return out

    async def pump(self, limit: int = 1000) -> int:
        """Deliver the published SyncAgent messages (and those they cause) until none is left; how many."""
        delivered = 0
        while delivered < limit:
            batch: list[Envelope] = []
            for name, bus in self.buses.items():
                start = self.pumped.get(name, 0)
                self.pumped[name] = len(bus.published)
                batch += [e for _, e in bus.published[start:] if isinstance(e.data, ac.SyncAgent)]
            if not batch:
                return delivered
            for envelope in batch:
                await self.send(envelope)
                delivered += 1
        raise AssertionError(f"SyncAgent messages did not settle after {limit}: they cause each other")

    async def at(self, seconds: float) -> None:
        """Move the clock to T0 + seconds and fire both domains' due timers."""
        self.clock.now = T0 + seconds
        for domain, router in self.routers.items():
            await router.tick(router.domains[domain])

    def events(self, kind: str, domain: str | None = None) -> list[Any]:
        """Payloads of one type (short name) published by one router, or by both."""
        names = [domain] if domain else list(self.buses)
        return [e.data for n in names for _, e in self.buses[n].published if e.type.endswith("." + kind)]

    def offers(self, domain: str | None = None) -> list[tuple[str, str]]:
        """(task, agent) of every TaskOffered, of one router or both."""
        return [(d.task_id, d.agent_id) for d in self.events("offered", domain)]

    def engine_load(self, domain: str, agent_id: str) -> int:
        """What the domain's engine counts against the agent's capacity (its own holds and foreign ones)."""
        return sum(self.routers[domain].domains[domain].engine.agents[agent_id].load.values())

    def engine_presence(self, domain: str, agent_id: str) -> Presence:
        """The agent's presence as the domain's engine has it."""
        return self.routers[domain].domains[domain].engine.agents[agent_id].presence


@asynccontextmanager
async def blended_routers(
    store: AgentStore, cfg: RoutingConfig | None = None, options: RouterOptions | None = None
) -> AsyncIterator[Blended]:
    """One router per domain of `cfg` (default `blended_config()`), on `store`, each with a bus of its own."""
    cfg = cfg or blended_config()
    clock = Clock()
    async with AsyncExitStack() as stack:
        routers: dict[str, Router] = {}
        buses: dict[str, RecordingBus] = {}
        for domain in sorted(cfg.domains()):
            bus = buses[domain] = RecordingBus()
            router = routers[domain] = Router(cfg, store, bus, TopicNames(), clock=clock, options=options)
            stack.push_async_callback(router.close)
        parts = {domain: routers[domain].domain_partition(domain) for domain in routers}
        assert len(set(parts.values())) == len(parts), f"the test's domains share a partition: {parts}"
        for domain, router in routers.items():
            await router.on_assign({parts[domain]})
            assert set(router.domains) == {domain}
        blended = Blended(routers, buses, store, clock, cfg)
        assert await blended.pump() == 2  # a takeover tells the other domains of its blended agents (one: x)
        yield blended
