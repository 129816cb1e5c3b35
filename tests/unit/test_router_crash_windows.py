"""A router that dies between announcing a fact and remembering it loses nothing: its successor, rebuilt from
Redis, is given the same message again and announces the fact under the same event id.

Found by kill -9 tests (test_router_kafka's kill under load failed about one run in eight; the end-to-end
test): the router changed Redis first (hold converted to an assignment, entry dropped, hold released) and
announced after, so a crash in between left a task assigned that nobody was told of, or completed with no
TaskCompleted, and the redelivered command was then ignored as stale.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.fake_router_store import FakeRouterStore
from tests.support.fakes import RecordingBus
from tests.support.routing import DOMAIN, T0, Clock, classified, command, config
from workrouter.bus.port import Delivery
from workrouter.contracts import agent_commands as ac
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, Tier
from workrouter.services.router.router import Router


class Crash(Exception):  # noqa: N818 - the process dies here
    """The process dies while publishing."""


class DyingBus(RecordingBus):
    """Records publishes; the process dies the first time an event of `kind` is to be published."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def publish(self, topic: str, event: Envelope) -> None:
        if self.kind and event.type.endswith("." + self.kind):
            self.kind = ""
            raise Crash(event.type)
        await super().publish(topic, event)


class Life:
    """Routers owning every domain one after another over the same (fake) Redis."""

    def __init__(self, after_work: float = 0.0) -> None:
        queue = QueuePolicy("q", DOMAIN, tiers=(Tier(0),), offer_timeout_seconds=30.0, after_work_seconds=after_work)
        agent = AgentProfile("a", {"s": 90}, frozenset({"q"}), {"workitem": 1})
        self.config = config(queues=[queue], agents=[agent])
        self.store, self.clock, self.bus = FakeRouterStore(), Clock(), RecordingBus()
        self.router: Router | None = None

    async def start(self, bus: RecordingBus) -> None:
        """A new router process takes every domain over (rebuilt from the store)."""
        self.bus = bus
        self.router = Router(self.config, self.store, bus, TopicNames(), clock=self.clock)
        await self.router.on_assign(set(range(self.router.options.partitions)))

    async def send(self, envelope: Envelope) -> None:
        assert self.router is not None
        await self.router.handle(envelope, Delivery("wr.routing", 0, 0, DOMAIN, 1))

    def events(self, kind: str, *buses: RecordingBus) -> list[Envelope]:
        return [e for bus in buses for _, e in bus.published if e.type.endswith("." + kind)]


async def offered(life: Life, bus: RecordingBus) -> Envelope:
    """Agent `a` ready, task t1 queued and offered to it; the AnswerOffer accepting it."""
    await life.start(bus)
    await life.store.set_presence("a", Presence.READY, None, T0)
    await life.send(command(ac.ChangePresence(agent_id="a", domain=DOMAIN, presence="ready")))
    await life.send(classified("t1", at=T0))
    (offer,) = life.events("offered", bus)
    answer = ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offer.data.offer_id, accept=True)  # type: ignore[attr-defined]
    return command(answer)


async def dies_then_again(life: Life, message: Envelope) -> RecordingBus:
    """Deliver `message` to the dying router, then again to its successor; the successor's bus."""
    with pytest.raises(Crash):
        await life.send(message)
    successor = RecordingBus()
    life.clock.now += 1  # the successor takes over a moment later
    await life.start(successor)
    await life.send(message)
    return successor


async def test_an_acceptance_is_announced_by_the_successor() -> None:
    life = Life()
    accept = await offered(life, DyingBus("accepted"))
    first = life.bus
    again = await dies_then_again(life, accept)
    assert [e.data.agent_id for e in life.events("accepted", first, again)] == ["a"]  # type: ignore[attr-defined]
    assert life.store.holds["t1"].kind == "assign"


@pytest.mark.parametrize(("after_work", "dies_at"), [(0.0, "completed"), (30.0, "wrap_up_started")])
async def test_a_completion_is_announced_by_the_successor(after_work: float, dies_at: str) -> None:
    life = Life(after_work)
    accept = await offered(life, DyingBus(dies_at))
    first = life.bus
    await life.send(accept)
    finish = command(ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t1", wrap_up_code="processed"))
    again = await dies_then_again(life, finish)
    assert len(life.events("completed", first, again)) == 1
    assert len(life.events("wrap_up_started", first, again)) == (1 if after_work else 0)


@pytest.mark.parametrize("action", ["transfer", "reschedule"])
async def test_a_hand_back_is_announced_by_the_successor(action: str) -> None:
    life = Life()
    accept = await offered(life, DyingBus("reclassify_task" if action == "transfer" else "rescheduled"))
    first = life.bus
    await life.send(accept)
    wake = datetime.fromtimestamp(T0 + 600, UTC) if action == "reschedule" else None
    back = ac.HandBackTask(agent_id="a", domain=DOMAIN, task_id="t1", action=action, queue="q", wake_at=wake)
    again = await dies_then_again(life, command(back))
    assert len(life.events("reclassify_task" if action == "transfer" else "rescheduled", first, again)) == 1
    assert "t1" not in life.store.holds


async def test_a_rejection_is_announced_by_the_successor() -> None:
    life = Life()
    accept = await offered(life, DyingBus("offer_revoked"))
    first = life.bus
    reject = command(ac.AnswerOffer.model_validate({**accept.data.model_dump(), "accept": False}))
    again = await dies_then_again(life, reject)
    assert [e.data.reason for e in life.events("offer_revoked", first, again)] == ["rejected"]  # type: ignore[attr-defined]
    assert "t1" not in life.store.holds or life.store.holds["t1"].agent_id != "a"


async def test_taking_a_task_from_its_agent_is_announced_by_the_successor() -> None:
    life = Life()
    accept = await offered(life, DyingBus("unassigned"))
    first = life.bus
    await life.send(accept)
    cancel = make_event(te.TaskCancelled(task_id="t1", by="source", reason="withdrawn"), source="/test", key=DOMAIN)
    again = await dies_then_again(life, cancel)
    assert [e.data.agent_id for e in life.events("unassigned", first, again)] == ["a"]  # type: ignore[attr-defined]
    assert "t1" not in life.store.holds


class DyingStore(FakeRouterStore):
    """The process dies the first time an entry is to be dropped: after the hold was released (a withdrawal),
    or, for a finished task, before the one transaction that retires, releases and drops it."""

    armed = False

    async def drop_task(self, domain: str, task_id: str) -> bool:
        if self.armed:
            self.armed = False
            raise Crash("drop_task")
        return await super().drop_task(domain, task_id)


@pytest.mark.parametrize("ending", ["finished", "cancelled"])
async def test_a_task_forgotten_halfway_is_dropped_by_the_successor_not_queued_again(ending: str) -> None:
    # found by the end-to-end test in CI: the router died after releasing a completed task's hold and before
    # dropping its entry; its successor found an entry nobody held, queued it and another agent completed it
    life = Life()
    life.store = DyingStore()
    accept = await offered(life, RecordingBus())
    first = life.bus
    await life.send(accept)
    life.store.armed = True
    if ending == "finished":
        message = command(ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t1", wrap_up_code="processed"))
    else:
        message = make_event(te.TaskCancelled(task_id="t1", by="source", reason="gone"), source="/test", key=DOMAIN)
    again = await dies_then_again(life, message)
    # one event: a finish let go of in one Redis transaction (let_go) dies before it, all of it comes again
    # and the completion is announced again under the same id, which consumers take once
    assert len({e.id for e in life.events("completed" if ending == "finished" else "unassigned", first, again)}) == 1
    assert life.events("offered", again) == []  # not offered to anybody again
    assert "t1" not in life.store.tasks.get(DOMAIN, {})
    assert "t1" not in life.store.holds
