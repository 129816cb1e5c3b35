"""The router's effects held and carried out together (services/router/effects.py): in which order they reach
Kafka and Redis, when a reservation is answered, and what a poll of several messages does as one unit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.support.fake_router_store import memory_router
from tests.support.fakes import RecordingBus
from tests.support.routing import DOMAIN, T0, classified, command, config
from workrouter.adapters.redis_agent_ops import Read, Write
from workrouter.adapters.redis_agent_records import Holder, ReserveResult
from workrouter.bus.port import Delivery
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskCancelled
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, Tier
from workrouter.services.router.effects import Effects

OK = ReserveResult.OK


class Log:
    """One timeline of what reached the bus and the store."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, Any]] = []


class LoggingBus(RecordingBus):
    def __init__(self, log: Log, fail: bool = False) -> None:
        super().__init__()
        self.log, self.fail = log, fail

    async def publish_all(self, events: Sequence[tuple[str, Envelope]]) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.log.steps.append(("publish", [e.id for _, e in events]))


class LoggingStore:
    """Answers every reservation with the next of `answers` (OK when none is left)."""

    def __init__(self, log: Log, answers: Sequence[ReserveResult] = ()) -> None:
        self.log, self.answers = log, list(answers)

    async def apply(self, ops: Sequence[Write | Read]) -> list[Any]:
        self.log.steps.append(("apply", [(op.op, op.args[:2]) for op in ops]))
        out: list[Any] = []
        for op in ops:
            if isinstance(op, Read):
                out.append(self.answers.pop(0) if op.op == "reserve" and self.answers else OK)
                if op.op == "holder":
                    out[-1] = Holder("z", "workitem", "claim", T0)
        return out


def event(eid: str) -> Envelope:
    payload = TaskCancelled(task_id=eid, by="system", reason="test")
    return make_event(payload, source="/test", key=eid, event_id=f"00000000-0000-0000-0000-{int(eid[1:]):012d}")


def eid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


async def test_announcements_go_first_then_writes_and_reservations_in_one_transaction_then_what_follows() -> None:
    log = Log()
    effects = Effects(LoggingStore(log), LoggingBus(log))  # type: ignore[arg-type]
    answered: list[ReserveResult] = []

    async def then(result: ReserveResult) -> None:
        answered.append(result)
        await effects.publish("wr.tasks", event("t3"))  # the offer, announced once Redis said yes
        await effects.notify("a", {"event": "offered"})

    await effects.publish("wr.tasks", event("t1"))
    await effects.release("t0", "a")
    await effects.reserve_then("a", "t9", "workitem", "offer", T0, require_ready=True, then=then)
    await effects.publish("wr.tasks", event("t2"))
    assert log.steps == [], "nothing happens before the unit's end"
    assert effects.touches("a")
    assert effects.touches("t9")
    assert not effects.touches("b", None)

    await effects.flush()

    assert log.steps == [
        ("publish", [eid(1), eid(2)]),
        ("apply", [("release", ("t0", "a")), ("reserve", ("a", "t9"))]),
        ("publish", [eid(3)]),
        ("apply", [("notify", ("a", {"event": "offered"}))]),
    ]
    assert answered == [OK]
    assert not effects.touches("a")
    log.steps.clear()
    await effects.flush()
    assert log.steps == [], "nothing is left"


async def test_a_question_carries_out_what_is_held_first_and_a_second_reservation_waits_for_the_first() -> None:
    log = Log()
    effects = Effects(LoggingStore(log, [ReserveResult.NOT_READY]), LoggingBus(log))  # type: ignore[arg-type]
    answered: list[tuple[str, ReserveResult]] = []

    def then(task: str) -> Any:
        async def record(result: ReserveResult) -> None:
            answered.append((task, result))

        return record

    await effects.reserve_then("a", "t1", "workitem", "offer", T0, require_ready=True, then=then("t1"))
    await effects.reserve_then("b", "t2", "workitem", "offer", T0, require_ready=True, then=then("t2"))
    assert log.steps == [], "other agent, other task: held together"
    # the same agent again: its first reservation is carried out and answered before this one is held
    await effects.reserve_then("a", "t3", "workitem", "offer", T0, require_ready=True, then=then("t3"))
    assert answered == [("t1", ReserveResult.NOT_READY), ("t2", OK)]
    await effects.publish("wr.tasks", event("t4"))
    holder = await effects.holder("t5")
    assert holder == Holder("z", "workitem", "claim", T0)
    assert answered[-1] == ("t3", OK), "answered before the question's answer comes back"
    assert log.steps == [
        ("apply", [("reserve", ("a", "t1")), ("reserve", ("b", "t2"))]),
        ("publish", [eid(4)]),
        ("apply", [("reserve", ("a", "t3")), ("holder", ("t5",))]),
    ]


async def test_if_the_announcements_fail_nothing_of_the_unit_reaches_redis() -> None:
    log = Log()
    effects = Effects(LoggingStore(log), LoggingBus(log, fail=True))  # type: ignore[arg-type]
    await effects.publish("wr.tasks", event("t1"))
    await effects.convert("t1", "a", "assign")  # remembers the announcement: must not happen without it
    with pytest.raises(ConnectionError):
        await effects.flush()
    assert log.steps == []


def capacity_one() -> Any:
    queue = QueuePolicy("q", DOMAIN, tiers=(Tier(0),), offer_timeout_seconds=30.0)
    return config(queues=[queue], agents=[AgentProfile("a", {"s": 90}, frozenset({"q"}), {"workitem": 1})])


async def test_one_poll_frees_the_agent_and_gives_it_the_next_task_on_the_capacity_just_freed() -> None:
    """Capacity 1: the release of the finished task and the reservation of the next one are in the same
    poll; Redis must see them in that order (one transaction), or the offer would be refused."""
    async with memory_router(capacity_one()) as world:
        await world.presence("a", Presence.READY)
        await world.send(classified("t1", at=T0))
        await world.send(classified("t2", at=T0))
        (offer,) = world.events("offered")
        accept = ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offer.offer_id, accept=True)
        finish = ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t1", wrap_up_code="processed")
        poll = [command(accept), command(finish)]
        await world.router.handle_poll([(e, Delivery("wr.routing", 0, i, DOMAIN, 1)) for i, e in enumerate(poll)])

        assert [(o.task_id, o.agent_id) for o in world.events("offered")] == [("t1", "a"), ("t2", "a")]
        assert [e.type.rsplit(".", 1)[-1] for _, e in world.bus.published if e.subject in ("t1", "t2")][-3:] == [
            "accepted",
            "completed",
            "offered",
        ]
        assert world.store.holds["t2"].agent_id == "a"
        assert "t1" not in world.store.holds
        assert world.store.loads["a"] == {"workitem": 1}


async def test_a_classification_redelivered_in_the_poll_that_finished_its_task_is_not_queued_again() -> None:
    async with memory_router(capacity_one()) as world:
        await world.presence("a", Presence.READY)
        first = classified("t1", at=T0)
        await world.send(first)
        (offer,) = world.events("offered")
        accept = ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offer.offer_id, accept=True)
        finish = ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t1", wrap_up_code="processed")
        poll = [command(accept), command(finish), first]  # the copy, after the task ended
        await world.router.handle_poll([(e, Delivery("wr.routing", 0, i, DOMAIN, 1)) for i, e in enumerate(poll)])

        assert len(world.events("queued")) == 1
        assert len(world.events("offered")) == 1
        assert "t1" not in world.router.domains[DOMAIN].entries
        assert world.store.tasks.get(DOMAIN, {}) == {}


class FailingOnce(RecordingBus):
    """A broker that refuses the first batch of announcements after `arm()`, then takes everything."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    def arm(self) -> None:
        self.armed = True

    async def publish_all(self, events: Sequence[tuple[str, Envelope]]) -> None:
        if self.armed:
            self.armed = False
            raise ConnectionError("broker unavailable")
        await super().publish_all(events)


async def test_a_unit_that_failed_part_way_is_redone_on_a_domain_rebuilt_from_redis() -> None:
    """The TaskQueued could not be sent: nothing the unit held reaches Redis later, and when the bus gives the
    message again, the router (rebuilt from Redis, as after a crash) queues and offers the task. Without the
    rebuild the redelivery found the task in memory, took it as done, and it was never announced."""
    bus = FailingOnce()
    async with memory_router(capacity_one()) as world:
        world.router.bus = bus
        for state in world.router.domains.values():
            state.store.bus = bus
        world.bus = bus
        await world.presence("a", Presence.READY)
        bus.arm()
        message = classified("t1", at=T0)
        with pytest.raises(ConnectionError):
            await world.send(message)
        assert world.store.tasks.get(DOMAIN, {}) == {}, "the held writes were dropped with the failed round"
        assert world.router.domains[DOMAIN].store.failed

        await world.send(message)  # the bus gives it again

        assert [(e.task_id) for e in world.events("queued")] == ["t1"]
        assert [(o.task_id, o.agent_id) for o in world.events("offered")] == [("t1", "a")]
        assert world.store.holds["t1"].agent_id == "a"
        assert not world.router.domains[DOMAIN].store.failed
