"""A poison event never leaves a task in limbo (issue 17.2, D13), on the in-memory bus.

Each test breaks one consumer for one task (it keeps raising, or refuses, or the message cannot be
decoded), and shows: the bus dead-letters the original and moves on (the task after it on the same
partition still flows), the prioritiser holds the task with the service and the reason, the
reporting fold shows it error_held, a redelivered dead letter publishes nothing new, and a
reclassification releases it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.pipeline import Observer
from tests.unit.conftest import CONFIG_DIR
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.port import Delivery, PermanentError
from workrouter.config.catalog import Catalog
from workrouter.contracts import codec
from workrouter.contracts.commands import ReclassifyTask, UpdateTask
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskCaptured, TaskErrorHeld, TaskEvent, TaskUpdated
from workrouter.contracts.topics import TopicNames
from workrouter.domain.capture import task_id_for
from workrouter.domain.reporting.task_row import TaskRow, fold
from workrouter.services.prioritiser import handlers as prioritiser_handlers
from workrouter.services.prioritiser import service as prioritiser_service
from workrouter.services.prioritiser.decide import decide
from workrouter.services.prioritiser.handlers import PrioritiserDeps
from workrouter.services.prioritiser.poison import handle_dead_letter
from workrouter.services.prioritiser.rules_holder import RulesHolder

TOPICS = TopicNames()
BAD = task_id_for("crm", "bad-1")
GOOD = (task_id_for("crm", "ok-1"), task_id_for("crm", "ok-2"))


class Faulty:
    """A consumer that keeps failing on every message about one task while `broken`; records what it handled."""

    def __init__(self, about: Callable[[Envelope], str | None], error: type[Exception]) -> None:
        self.about, self.error = about, error
        self.broken = True
        self.handled: list[str] = []

    async def __call__(self, envelope: Envelope, _: Delivery) -> None:
        if self.broken and self.about(envelope) == BAD:
            raise self.error(f"cannot handle {envelope.type}")
        self.handled.append(envelope.id)


def task_of(envelope: Envelope) -> str | None:
    return getattr(envelope.data, "task_id", None)


@dataclasses.dataclass
class World:
    bus: MemoryBus
    deps: PrioritiserDeps
    tasks: Observer
    routing: Observer
    dead: Observer
    rows: dict[str, TaskRow]

    async def send(self, topic: str, envelope: Envelope) -> None:
        await self.bus.publish(topic, envelope)
        assert await self.bus.drain(10.0) == 0

    def holds(self) -> list[TaskErrorHeld]:
        return [e.data for e in self.tasks.of_type(TaskErrorHeld.event_type) if isinstance(e.data, TaskErrorHeld)]


def captured(task_id: str, external_id: str) -> Envelope:
    data = TaskCaptured(
        task_id=task_id,
        source="crm",
        external_id=external_id,
        type="invoice_dispute",
        title="Wrong invoice",
        attributes={"department": "Finance", "segment": "Gold", "amount": 10},
    )
    return make_event(data, source="/workrouter/capture", key=task_id, subject=task_id)


async def world(catalog: Catalog, extra: Callable[[MemoryBus], None]) -> World:
    specs = tuple(dataclasses.replace(s, partitions=1) for s in TOPICS.specs())  # every task on one partition
    policy = DeliveryPolicy(max_attempts=3, backoff_seconds=0.001, max_backoff_seconds=0.001)
    bus = MemoryBus(specs, deadletter_topic=TOPICS.deadletter, policy=policy)
    rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus, TOPICS)
    prioritiser_service.subscribe(bus, deps, "wr-prioritiser", "wr-prioritiser-poison")
    rows: dict[str, TaskRow] = {}

    async def reporting(envelope: Envelope, _: Delivery) -> None:  # the reporting fold, as task_state keeps it
        if isinstance(envelope.data, TaskEvent):
            rows[envelope.data.task_id] = fold(rows.get(envelope.data.task_id), envelope)

    observed = World(bus, deps, Observer(), Observer(), Observer(), rows)
    bus.subscribe(TOPICS.tasks, "wr-reporting-view", reporting)
    bus.subscribe(TOPICS.tasks, "observer", observed.tasks)
    bus.subscribe(TOPICS.routing, "observer", observed.routing)
    bus.subscribe(TOPICS.deadletter, "observer", observed.dead)
    extra(bus)
    await bus.start()
    return observed


async def capture_three(w: World) -> None:
    await w.send(TOPICS.tasks, captured(GOOD[0], "ok-1"))
    await w.send(TOPICS.tasks, captured(BAD, "bad-1"))
    await w.send(TOPICS.tasks, captured(GOOD[1], "ok-2"))


def the_dead_letter(w: World, group: str) -> Envelope:
    """The group's first dead letter."""
    return next(e for e in w.dead.events if isinstance(e.data, DeadLettered) and e.data.group == group)


async def assert_held_visibly(w: World, group: str, reason_part: str) -> TaskErrorHeld:
    dead = the_dead_letter(w, group)
    (held,) = w.holds()
    assert (held.task_id, held.service, held.dead_letter_id) == (BAD, group, dead.id)
    assert reason_part in held.reason
    assert w.rows[BAD].status == "error_held"
    assert {w.rows[t].status for t in GOOD} == {"classified"}
    assert (await w.deps.facts.get(BAD) or ({},))[0]["_life"] == "held"
    # the dead letter arrives again (a crash before its commit): the same hold, nothing new
    before = (len(w.tasks.events), w.tasks.duplicates)
    await handle_dead_letter(dead, Delivery(TOPICS.deadletter, 0, 0, dead.partitionkey, 2), w.deps)
    assert await w.bus.drain(10.0) == 0
    assert (len(w.tasks.events), w.tasks.duplicates) == (before[0], before[1] + 1)
    return held


async def release(w: World) -> None:
    """A person reclassifies the task after the fix; it is classified and routed again."""
    again = make_event(ReclassifyTask(task_id=BAD, reason="fixed"), source="/cli", key=BAD, subject=BAD)
    await w.send(TOPICS.tasks, again)
    assert w.rows[BAD].status == "classified"
    assert [e.data.task_id for e in w.routing.of_type("workrouter.task.classified")].count(BAD) >= 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("error", [RuntimeError, PermanentError])
@pytest.mark.parametrize("group", ["wr-escalation", "wr-notifier", "wr-reporting"])
async def test_a_wr_tasks_consumer_that_gives_up_holds_the_task(
    catalog: Catalog, group: str, error: type[Exception]
) -> None:
    faulty = Faulty(task_of, error)
    w = await world(catalog, lambda bus: bus.subscribe(TOPICS.tasks, group, faulty))
    try:
        await capture_three(w)
        dead = the_dead_letter(w, group)
        assert isinstance(dead.data, DeadLettered)
        first_bad = next(e for e in w.tasks.events if task_of(e) == BAD)
        assert dead.data.value == codec.encode(first_bad).decode()  # the original is kept, byte for byte
        assert any(task_of(e) == GOOD[1] for e in w.tasks.events if e.id in faulty.handled)  # nothing stalled
        held = await assert_held_visibly(w, group, "cannot handle workrouter.task.captured")
        assert held.failed_type == "workrouter.task.captured"
        assert held.error_type == ("rejected" if error is PermanentError else "RuntimeError")
        # it also gives up on the classification (held already by it: nothing new) and on the hold itself (no loop)
        gave_up = [e.data.value for e in w.dead.events if e.data.group == group]  # type: ignore[attr-defined]
        assert [codec.decode(v.encode()).type for v in gave_up] == [
            "workrouter.task.captured",
            "workrouter.task.classified",
            TaskErrorHeld.event_type,
            TaskErrorHeld.event_type,  # the same hold again, from the redelivered dead letter
        ]
        assert len(w.holds()) == 1
        # while held, the source's update is kept but does not release it
        update = TaskUpdated(task_id=BAD, changed=["title"], title="Still wrong")
        faulty.broken = False
        await w.send(TOPICS.tasks, make_event(update, source="/workrouter/capture", key=BAD, subject=BAD))
        assert w.rows[BAD].status == "error_held"
        await release(w)
        # a replay of the old dead letter never holds the released task again
        await handle_dead_letter(dead, Delivery(TOPICS.deadletter, 0, 0, None, 1), w.deps)
        assert await w.bus.drain(10.0) == 0
        assert len(w.holds()) == 1
        assert w.rows[BAD].status == "classified"
    finally:
        await w.bus.stop()


async def test_the_prioritisers_own_failure_on_a_capture_holds_the_task_and_reclassify_releases_it(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = decide

    def broken(task_id: str, *args: Any, **kwargs: Any) -> Any:
        if task_id == BAD:
            raise ValueError("rule engine bug")
        return real(task_id, *args, **kwargs)

    monkeypatch.setattr(prioritiser_handlers, "decide", broken)
    w = await world(catalog, lambda bus: None)
    try:
        await capture_three(w)
        held = await assert_held_visibly(w, "wr-prioritiser", "ValueError: rule engine bug")
        assert held.failed_type == "workrouter.task.captured"
        assert w.routing.of_type(TaskErrorHeld.event_type) == []  # never routed: no router to tell
        monkeypatch.setattr(prioritiser_handlers, "decide", real)
        await release(w)
    finally:
        await w.bus.stop()


async def test_a_router_that_gives_up_on_a_classification_has_the_task_held_and_told(catalog: Catalog) -> None:
    faulty = Faulty(task_of, RuntimeError)
    w = await world(catalog, lambda bus: bus.subscribe(TOPICS.routing, "wr-router", faulty))
    try:
        await capture_three(w)
        await assert_held_visibly(w, "wr-router", "cannot handle workrouter.task.classified")
        (told,) = w.routing.of_type(TaskErrorHeld.event_type)  # the router that has the task drops it
        assert told.partitionkey == "backoffice"
        assert told.id == w.tasks.of_type(TaskErrorHeld.event_type)[0].id
        assert any(task_of(e) == GOOD[1] for e in w.routing.events if e.id in faulty.handled)
        faulty.broken = False
        await release(w)
    finally:
        await w.bus.stop()


@pytest.mark.parametrize("unreadable", [False, True])
async def test_a_capture_command_that_cannot_be_processed_holds_its_existing_task(
    catalog: Catalog, unreadable: bool
) -> None:
    def about(envelope: Envelope) -> str | None:
        data = envelope.data
        return task_id_for(data.source, data.external_id) if isinstance(data, UpdateTask) else None

    faulty = Faulty(about, RuntimeError)
    w = await world(catalog, lambda bus: bus.subscribe(TOPICS.capture, "wr-capture", faulty))
    try:
        await capture_three(w)
        if unreadable:
            await w.bus.publish_raw(TOPICS.capture, "crm:bad-1", b'{"type": "workrouter.command.update_task"')
        else:
            update = UpdateTask(source="crm", external_id="bad-1", title="t")
            await w.bus.publish(TOPICS.capture, make_event(update, source="/api", key="crm:bad-1"))
        ok = UpdateTask(source="crm", external_id="ok-2", title="t")
        await w.send(TOPICS.capture, make_event(ok, source="/api", key="crm:ok-2"))
        assert len(faulty.handled) == 1  # the next command on the partition flowed
        held = await assert_held_visibly(w, "wr-capture", "cannot decode" if unreadable else "cannot handle")
        assert held.error_type == ("decode" if unreadable else "RuntimeError")
        (told,) = w.routing.of_type(TaskErrorHeld.event_type)
        assert told.partitionkey == "backoffice"
    finally:
        await w.bus.stop()


async def test_a_dead_letter_of_a_task_never_captured_holds_nothing(catalog: Catalog) -> None:
    w = await world(catalog, lambda bus: bus.subscribe(TOPICS.capture, "wr-capture", Faulty(lambda _: BAD, KeyError)))
    try:
        await w.send(TOPICS.capture, make_event(UpdateTask(source="crm", external_id="bad-1"), source="/a", key="k"))
        assert len(w.dead.events) == 1
        assert w.holds() == []
    finally:
        await w.bus.stop()
