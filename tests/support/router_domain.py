"""A router owning the test domain on the fake Redis store, fed message by message, for router unit tests."""

from __future__ import annotations

from tests.support.fake_router_store import FakeRouterStore
from tests.support.fakes import RecordingBus
from tests.support.routing import DOMAIN, T0, Clock, command, config
from workrouter.bus.port import Delivery
from workrouter.contracts import agent_commands as ac
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, Tier
from workrouter.services.router.router import Router, RouterOptions


class Domain:
    """A router owning the test domain (queues q and r, agents a and b of capacity 1) on a fake Redis."""

    def __init__(self, after_work: float = 0.0, keep_seconds: float = 3600.0) -> None:
        queues = [
            QueuePolicy(name, DOMAIN, tiers=(Tier(0),), offer_timeout_seconds=30.0, after_work_seconds=after_work)
            for name in ("q", "r")
        ]
        agents = [AgentProfile(a, {"s": 90}, frozenset({"q", "r"}), {"workitem": 1}) for a in ("a", "b")]
        self.store, self.clock, self.bus = FakeRouterStore(), Clock(), RecordingBus()
        options = RouterOptions(keep_retired_seconds=keep_seconds)
        self.router = Router(
            config(queues=queues, agents=agents),
            self.store,
            self.bus,
            TopicNames(),
            clock=self.clock,
            options=options,
        )

    async def start(self) -> None:
        await self.router.on_assign(set(range(self.router.options.partitions)))
        for agent in ("a", "b"):
            await self.store.set_presence(agent, Presence.READY, None, T0)
            await self.send(command(ac.ChangePresence(agent_id=agent, domain=DOMAIN, presence="ready")))

    async def send(self, envelope: Envelope) -> None:
        await self.router.handle(envelope, Delivery("wr.routing", 0, 0, DOMAIN, 1))

    def events(self, kind: str) -> list[Envelope]:
        return [e for _, e in self.bus.published if e.type.endswith("." + kind)]

    async def accept(self, task_id: str) -> str:
        """Accept the task's open offer; the agent who did."""
        offer = self.events("offered")[-1].data
        assert isinstance(offer, te.TaskOffered)
        assert offer.task_id == task_id
        answer = ac.AnswerOffer(
            agent_id=offer.agent_id, domain=DOMAIN, task_id=task_id, offer_id=offer.offer_id, accept=True
        )
        await self.send(command(answer))
        return offer.agent_id

    async def work(self, task_id: str) -> str:
        """Accept the task's open offer and complete it; the agent who did."""
        agent = await self.accept(task_id)
        await self.send(command(ac.FinishTask(agent_id=agent, domain=DOMAIN, task_id=task_id)))
        return agent
