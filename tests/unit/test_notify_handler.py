"""The notifier's handler on wr.tasks, with the in-memory store: what it keeps and what it enqueues."""

from __future__ import annotations

from tests.support.notifier import Clock, MemoryCallbackStore, captured, completed, event
from workrouter.bus.port import Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.common import FieldError
from workrouter.services.notifier.handlers import NotifierDeps, handle

DELIVERY = Delivery("wr.tasks", 0, 0, "t", 1)
SUBS = {"crm": frozenset({"completed", "rejected"})}


def deps() -> tuple[NotifierDeps, list[str]]:
    poked: list[str] = []
    return NotifierDeps(MemoryCallbackStore(), SUBS, Clock(), poked.append), poked


async def test_a_redelivered_completion_is_enqueued_once_and_pokes_once() -> None:
    d, poked = deps()
    await handle(event(captured("t1")), DELIVERY, d)
    done = event(completed("t1"))
    for _ in range(3):
        await handle(done, DELIVERY, d)
    store = d.store
    assert isinstance(store, MemoryCallbackStore)
    assert list(store.rows) == [done.id]
    assert poked == ["crm"]


async def test_tasks_of_sources_without_callbacks_leave_nothing_behind() -> None:
    d, poked = deps()
    await handle(event(captured("t1", source="ticketing")), DELIVERY, d)
    await handle(event(completed("t1")), DELIVERY, d)
    store = d.store
    assert isinstance(store, MemoryCallbackStore)
    assert store.views == {}
    assert store.rows == {}
    assert poked == []


async def test_a_rejected_item_of_a_subscribing_source_is_called_back() -> None:
    d, poked = deps()
    refused = te.TaskRejected(
        source="crm", external_id="X", errors=[FieldError(loc="type", msg="unknown")], original="{}"
    )
    envelope = event(refused, key="some-task-id")
    await handle(envelope, DELIVERY, d)
    await handle(envelope, DELIVERY, d)
    store = d.store
    assert isinstance(store, MemoryCallbackStore)
    (row,) = store.rows.values()
    assert (row.id, row.task_id, row.event) == (envelope.id, "some-task-id", "rejected")
    assert poked == ["crm"]


async def test_commands_on_the_task_topic_are_not_called_back() -> None:
    d, poked = deps()
    await handle(event(captured("t1")), DELIVERY, d)
    await handle(event(ReclassifyTask(task_id="t1", reason="rules fixed")), DELIVERY, d)
    store = d.store
    assert isinstance(store, MemoryCallbackStore)
    assert store.rows == {}
    assert poked == []
