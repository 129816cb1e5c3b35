"""The capture handler: validation, refusals announced and dead-lettered, batches, redelivery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.fakes import RecordingBus
from workrouter.adapters.memory_stores import MemoryCaptureStore
from workrouter.bus.port import Delivery, PermanentError
from workrouter.config.catalog import Catalog
from workrouter.contracts import commands as c
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.contracts.task_events import TaskRejected
from workrouter.services.capture.handlers import CaptureDeps, handle

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DELIVERY = Delivery("wr.capture", 0, 0, "k", 1)


def deps(catalog: Catalog) -> tuple[CaptureDeps, RecordingBus, MemoryCaptureStore]:
    bus, store = RecordingBus(), MemoryCaptureStore()
    return CaptureDeps(store, catalog, bus, lambda: NOW), bus, store


def capture(external_id: str = "CASE-1", **over: Any) -> c.CaptureTask:
    fields: dict[str, Any] = {"source": "crm", "external_id": external_id, "type": "claim", "title": "Water damage"}
    fields["attributes"] = {"department": "Claims", "segment": "Gold", "amount": 1200}
    return c.CaptureTask.model_validate({**fields, **over})


def envelope(payload: Payload) -> Envelope:
    return make_event(payload, source="/test", key="k")


async def test_valid_capture_publishes_task_captured_and_remembers(catalog: Catalog) -> None:
    d, bus, store = deps(catalog)
    await handle(envelope(capture()), DELIVERY, d)
    assert bus.types("wr.tasks") == ["workrouter.task.captured"]
    assert ("crm", "CASE-1") in store.records


@pytest.mark.parametrize(
    ("over", "loc", "msg"),
    [
        ({"source": "erp"}, "source", "unknown source 'erp'"),
        ({"type": "pizza"}, "type", "unknown work type 'pizza'"),
        ({"attributes": {"segment": "Platinum"}}, "attributes.segment", "'Platinum' is not one of"),
        ({"attributes": {"surprise": "x" * 20_000}}, "attributes", "over the 16384 byte limit"),
    ],
)
async def test_invalid_capture_is_answered_with_task_rejected_not_dead_lettered(
    catalog: Catalog, over: dict[str, Any], loc: str, msg: str
) -> None:
    d, bus, store = deps(catalog)
    await handle(envelope(capture(**over)), DELIVERY, d)  # returns: acknowledged, since it was answered
    (rejected,) = [ev.data for _, ev in bus.published]
    assert isinstance(rejected, TaskRejected)
    assert any(err.loc == loc and msg in err.msg for err in rejected.errors), rejected.errors
    assert not store.records


async def test_update_that_breaks_the_schema_is_refused(catalog: Catalog) -> None:
    d, bus, _ = deps(catalog)
    await handle(envelope(capture()), DELIVERY, d)
    bad = c.UpdateTask(source="crm", external_id="CASE-1", attributes={"amount": -5})
    await handle(envelope(bad), DELIVERY, d)
    assert bus.types() == ["workrouter.task.captured", "workrouter.task.rejected"]
    refused = bus.published[-1][1].data
    assert isinstance(refused, TaskRejected)
    assert refused.errors[0].loc == "attributes.amount"


async def test_a_batch_is_judged_item_by_item(catalog: Catalog) -> None:
    d, bus, store = deps(catalog)
    batch = c.CaptureTaskBatch(items=[capture("A"), capture("B", type="pizza"), capture("C")])
    await handle(envelope(batch), DELIVERY, d)
    assert bus.types() == ["workrouter.task.captured", "workrouter.task.rejected", "workrouter.task.captured"]
    assert set(store.records) == {("crm", "A"), ("crm", "C")}


async def test_redelivery_after_a_crash_before_storing_re_emits_the_same_event_ids(catalog: Catalog) -> None:
    d, bus, store = deps(catalog)
    first = envelope(capture())

    class CrashingStore(MemoryCaptureStore):
        async def put(self, record: Any) -> None:
            raise ConnectionError("database went away")

    crashing = CaptureDeps(CrashingStore(), catalog, bus, lambda: NOW)
    with pytest.raises(ConnectionError):
        await handle(first, DELIVERY, crashing)
    await handle(first, DELIVERY, d)
    await handle(first, DELIVERY, d)  # and a plain redelivery once stored: nothing new
    ids = [ev.id for _, ev in bus.published]
    assert len(ids) == 2
    assert ids[0] == ids[1], "the same command must produce the same event id, so consumers dedupe"
    assert len(store.records) == 1


async def test_a_source_acts_only_on_its_own_tasks(catalog: Catalog) -> None:
    d, bus, _ = deps(catalog)
    await handle(envelope(capture()), DELIVERY, d)
    await handle(envelope(c.CancelTask(source="bpm", external_id="CASE-1")), DELIVERY, d)
    assert bus.types()[-1] == "workrouter.task.rejected"
    refused = bus.published[-1][1].data
    assert isinstance(refused, TaskRejected)
    assert "no task 'CASE-1' from source 'bpm'" in refused.errors[0].msg


async def test_other_payloads_do_not_belong_on_the_capture_topic(catalog: Catalog) -> None:
    d, _, _ = deps(catalog)
    stray = c.ReclassifyTask(task_id="t", reason="x")
    with pytest.raises(PermanentError, match=r"does not belong on wr\.capture"):
        await handle(envelope(stray), DELIVERY, d)
