"""Property: capture taking a poll of `wr.capture` as one unit publishes and remembers exactly what it does
one command at a time, for any commands and any cut into polls."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fakes import RecordingBus
from tests.unit.test_capture_handler import DELIVERY, NOW, capture, envelope
from workrouter.adapters.memory_stores import MemoryCaptureStore
from workrouter.config.catalog import Catalog
from workrouter.contracts import commands as c
from workrouter.contracts.envelope import Payload, make_event
from workrouter.domain.capture import CaptureRecord
from workrouter.services.capture.handlers import CaptureDeps, handle
from workrouter.services.capture.poll import PollCaptures, handle_poll

IDS = ("A", "B", "C")


def command(kind: int, external_id: str) -> Payload:
    """One of the commands a source sends, by number."""
    match kind:
        case 0:
            return capture(external_id)
        case 1:
            return capture(external_id, title="Changed by a second capture")
        case 2:
            return c.UpdateTask(source="crm", external_id=external_id, title="Updated")
        case 3:
            return c.UpdateTask(source="crm", external_id=external_id, attributes={"segment": "Platinum"})  # refused
        case 4:
            return c.CancelTask(source="crm", external_id=external_id)
        case 5:
            return c.PauseTask(source="crm", external_id=external_id)
        case 6:
            return c.ResumeTask(source="crm", external_id=external_id)
        case 7:
            return c.CompleteTask(source="crm", external_id=external_id)
        case 8:
            return c.CaptureTaskBatch(items=[capture(external_id), capture("Z" + external_id, type="pizza")])
        case _:
            return capture(external_id, source="erp")  # unknown source: refused


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.tuples(st.integers(0, 9), st.sampled_from(IDS)), min_size=1, max_size=14),
    cuts=st.lists(st.integers(1, 5), min_size=1, max_size=14),
)
async def test_a_poll_sends_and_remembers_what_one_command_at_a_time_does(
    catalog: Catalog, picks: list[tuple[int, str]], cuts: list[int]
) -> None:
    envelopes = [make_event(command(k, x), source="/test", key=x, event_id=f"m{n}") for n, (k, x) in enumerate(picks)]

    def fresh() -> tuple[CaptureDeps, RecordingBus, MemoryCaptureStore]:
        bus, store = RecordingBus(), MemoryCaptureStore()
        return CaptureDeps(store, catalog, bus, lambda: NOW), bus, store

    (alone, alone_bus, alone_store), (polled, polled_bus, polled_store) = fresh(), fresh()
    for env in envelopes:
        await handle(env, DELIVERY, alone)
    start, sizes = 0, iter(cuts * len(envelopes))
    while start < len(envelopes):
        poll = envelopes[start : start + next(sizes)]
        await handle_poll([(env, DELIVERY) for env in poll], polled)
        start += len(poll)
    assert [(t, e.id, e.partitionkey, e.data) for t, e in polled_bus.published] == [
        (t, e.id, e.partitionkey, e.data) for t, e in alone_bus.published
    ]
    assert polled_store.records == alone_store.records


async def test_an_empty_poll_reads_and_writes_nothing(catalog: Catalog) -> None:
    bus, store = RecordingBus(), MemoryCaptureStore()
    await handle_poll([(envelope(c.CancelTask(source="crm", external_id="nobody")), DELIVERY)],
                      CaptureDeps(store, catalog, bus, lambda: NOW))  # fmt: skip
    assert store.records == {}


async def test_an_item_not_read_with_the_poll_is_read_when_handled() -> None:
    """The poll reads the items it can name up front; one it missed is read from the store, never taken as new."""
    store = MemoryCaptureStore()
    known = capture_record()
    await store.put(known)
    records = PollCaptures(store, read=[("crm", "other")], loaded={})
    assert await records.get("crm", "A") == known
    assert await records.get("crm", "other") is None
    assert records.written() == []


def capture_record() -> CaptureRecord:
    return CaptureRecord("crm", "A", "00000000-0000-0000-0000-000000000001", "fp", {"title": "T"})
