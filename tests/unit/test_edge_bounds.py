"""One validation at the edge: what a service behind it cannot hold is refused where it enters, naming the
field — on REST with a 422 and nothing published, on `wr.capture` with TaskRejected (the answer; no dead letter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.fakes import RecordingBus
from workrouter.adapters.memory_stores import MemoryCaptureStore
from workrouter.bus.port import Delivery
from workrouter.config.catalog import Catalog
from workrouter.contracts import bounds, codec, strict_json
from workrouter.contracts.commands import CaptureTask
from workrouter.contracts.envelope import make_event
from workrouter.contracts.refused import RefusedCommand
from workrouter.contracts.task_events import TaskRejected
from workrouter.services.capture.handlers import CaptureDeps, handle

CRM = {"X-API-Key": "crm-demo-key"}
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def nested(levels: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        doc = {"a": doc}
    return doc


# (field changes to a valid task, the field the refusal names)
HOSTILE: list[tuple[dict[str, Any], str]] = [
    ({"title": "Water\x00damage"}, "title"),
    ({"title": "lone \ud800 surrogate"}, "title"),
    ({"external_id": "CASE\x00-1"}, "external_id"),
    ({"external_id": "CASE\n1"}, "external_id"),
    ({"external_id": " CASE-1"}, "external_id"),
    ({"description": "x\udfff"}, "description"),
    ({"attributes": {"depart\x00ment": "Claims"}}, "attributes"),
    ({"attributes": {"department": "Cla\x00ims"}}, "attributes"),
    ({"attributes": {"note": "\udc80"}}, "attributes"),
    ({"attributes": nested(300)}, "attributes"),
    ({"attributes": {"big": 10**30}}, "attributes"),
    ({"attributes": {"x" * 300: 1, "a\udfff\x00": True}}, "attributes"),
    ({"due_at": "0001-01-01T00:00:00+14:00"}, "due_at"),
    ({"due_at": "9999-12-31T23:59:59-14:00"}, "due_at"),
    ({"expires_at": "1969-12-31T23:59:59Z"}, "expires_at"),
    ({"due_at": 1_700_000_000}, "due_at"),
    ({"sla_seconds": 10**12}, "sla_seconds"),
    ({"sla_seconds": 10**30}, "sla_seconds"),
    ({"sla_seconds": 0}, "sla_seconds"),
    ({"sla_seconds": "3600"}, "sla_seconds"),
    ({"sla_seconds": 3600.0}, "sla_seconds"),
    ({"priority": True}, "priority"),
    ({"priority": 1.5}, "priority"),
    ({"priority": "500"}, "priority"),
    ({"priority": 1001}, "priority"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "data:text/html,<script>alert(1)</script>"}, "url"),
    ({"url": "JaVaScRiPt:alert(1)"}, "url"),
    ({"url": "//evil.example.com/x"}, "url"),
    ({"url": "https://"}, "url"),
    ({"url": "https://crm.example.com/a b"}, "url"),
    ({"url": "file:///etc/passwd"}, "url"),
    ({"channel": "carrier-pigeon"}, "channel"),
    ({"requested_agent": "x" * 65}, "requested_agent"),
    ({"title": 42}, "title"),
    ({"attributes": ["not", "an", "object"]}, "attributes"),
]


def task(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"external_id": "CASE-1", "type": "claim", "title": "Water damage"}
    body["attributes"] = {"department": "Claims", "segment": "Silver"}
    return {**body, **over}


def raw_json(doc: Any) -> bytes:
    """JSON as a careless client writes it: lone surrogates escaped, nothing refused on the way out."""
    return json.dumps(doc, ensure_ascii=True).encode()


@pytest.mark.parametrize(("over", "field"), HOSTILE)
async def test_rest_refuses_with_422_naming_the_field_and_publishes_nothing(
    client: httpx.AsyncClient, bus: RecordingBus, over: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/tasks", content=raw_json(task(**over)), headers=CRM)
    assert response.status_code == 422, response.text
    locs = [e["loc"] for e in response.json()["errors"]]
    assert any(loc == f"body.{field}" or loc.startswith(f"body.{field}.") for loc in locs), locs
    assert bus.published == []


@pytest.mark.parametrize(("over", "field"), HOSTILE)
async def test_the_capture_topic_answers_the_same_input_with_task_rejected(
    catalog: Catalog, over: dict[str, Any], field: str
) -> None:
    bus, store = RecordingBus(), MemoryCaptureStore()
    deps = CaptureDeps(store, catalog, bus, lambda: NOW)
    doc = json.loads(
        codec.encode(make_event(CaptureTask.model_validate({**task(), "source": "crm"}), source="/t", key="k"))
    )
    doc["data"] = {**task(**over), "source": "crm"}
    envelope = codec.decode(raw_json(doc))  # readable: decoded as a refusal, not a dead letter without an answer
    await handle(envelope, Delivery("wr.capture", 0, 0, "crm:CASE-1", 1), deps)  # answered, so acknowledged
    ((topic, event),) = bus.published
    assert topic == "wr.tasks"
    assert isinstance(event.data, TaskRejected)
    assert event.data.source == "crm"
    assert any(e.loc == field or e.loc.startswith(f"{field}.") for e in event.data.errors), event.data.errors
    assert not store.records
    # what capture announces can itself be stored and read back by every consumer
    assert codec.decode(codec.encode(event)).data == event.data
    assert "\x00" not in codec.encode(event).decode()


async def test_a_bad_item_in_a_topic_batch_is_refused_alone(catalog: Catalog) -> None:
    bus, store = RecordingBus(), MemoryCaptureStore()
    deps = CaptureDeps(store, catalog, bus, lambda: NOW)
    items = [{**task(external_id=x), "source": "crm"} for x in ("A", "B", "C")]
    items[1]["title"] = "bad\x00title"
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e1",
        "type": "workrouter.command.capture_task_batch",
        "source": "/t",
    }
    doc |= {"time": "2026-11-23T09:00:00Z", "dataversion": 1, "partitionkey": "crm:batch", "dataschema": "x"}
    envelope = codec.decode(raw_json({**doc, "data": {"items": items}}))
    await handle(envelope, Delivery("wr.capture", 0, 0, "crm:batch", 1), deps)
    assert bus.types() == ["workrouter.task.captured", "workrouter.task.rejected", "workrouter.task.captured"]
    assert set(store.records) == {("crm", "A"), ("crm", "C")}


async def test_a_refused_command_with_an_unreadable_source_is_still_answered(catalog: Catalog) -> None:
    bus = RecordingBus()
    deps = CaptureDeps(MemoryCaptureStore(), catalog, bus, lambda: NOW)
    doc: dict[str, Any] = {"specversion": "1.0", "id": "e2", "type": "workrouter.command.capture_task", "source": "/t"}
    doc |= {"time": "2026-11-23T09:00:00Z", "partitionkey": "k", "dataschema": "x"}
    data = {**task(title="\x00"), "source": "c\x00rm"}
    envelope = codec.decode(raw_json({**doc, "data": data}))
    assert isinstance(envelope.data, RefusedCommand)
    await handle(envelope, Delivery("wr.capture", 0, 0, "k", 1), deps)
    ((_, event),) = bus.published
    assert isinstance(event.data, TaskRejected)
    assert event.data.source is None  # not storable, so not repeated
    assert {e.loc for e in event.data.errors} >= {"source", "title"}


async def test_a_bulk_with_one_external_id_twice_refuses_the_second(
    client: httpx.AsyncClient, bus: RecordingBus
) -> None:
    response = await client.post(
        "/v1/tasks", json=[task(), task(title="Same id, other content"), task(external_id="B")], headers=CRM
    )
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["errors"][0]["loc"] == "body.1.external_id"
    assert [getattr(e.data, "external_id", None) for _, e in bus.published] == ["CASE-1", "B"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"external_id": "X", "type": "claim", "title": "t", "attributes": {"x": NaN}}',
        b'{"external_id": "X", "type": "claim", "title": "t", "attributes": {"x": Infinity}}',
        b'{"external_id": "X", "type": "claim", "title": "t", "attributes": {"x": -Infinity}}',
        b'{"external_id": "X", "type": "claim", "title": "t", "attributes": {"x": 1e999}}',
        b'{"external_id": "X", "type": "claim", "title": "t", "priority": ' + b"9" * 5000 + b"}",
        b"\xff\xfe not utf-8",
    ],
)
async def test_bodies_that_are_not_json_we_take_get_400(
    client: httpx.AsyncClient, bus: RecordingBus, body: bytes
) -> None:
    response = await client.post("/v1/tasks", content=body, headers=CRM)
    assert response.status_code == 400, response.text
    assert "not valid JSON" in response.json()["detail"]
    assert bus.published == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'{"attributes": ' + b'{"a":' * 40 + b"1" + b"}" * 41, "body.attributes.a"),
    ],
)
async def test_bodies_nested_too_deeply_get_422(
    client: httpx.AsyncClient, bus: RecordingBus, body: bytes, loc: str
) -> None:
    response = await client.post("/v1/tasks", content=body, headers=CRM)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == loc
    assert "nested deeper" in response.json()["errors"][0]["msg"]
    assert bus.published == []


def test_strict_json_takes_what_json_allows() -> None:
    assert strict_json.loads(b'{"a": [1, 2.5, -0.0, "\\u00e9", null, true]}') == {"a": [1, 2.5, -0.0, "é", None, True]}
    assert strict_json.loads(b'{"a":' * 32 + b"1" + b"}" * 32) is not None
    with pytest.raises(strict_json.JsonRefusedError, match="nested deeper"):
        strict_json.loads(b'{"a":' * 33 + b"1" + b"}" * 33)


@given(st.text())
def test_text_is_refused_exactly_when_it_holds_nul_or_a_lone_surrogate(value: str) -> None:
    bad = any(ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    try:
        bounds.check_text(value)
    except ValueError:
        assert bad
    else:
        assert not bad


@given(st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=h)) for h in (-14, -5, 0, 5, 14)])))
def test_a_time_is_taken_exactly_when_it_is_within_bounds_in_utc(value: datetime) -> None:
    try:
        utc = value.astimezone(UTC)
        inside = bounds.EARLIEST <= utc <= bounds.LATEST
    except OverflowError:
        inside = False
    try:
        bounds.check_time(value)
    except ValueError:
        assert not inside
    else:
        assert inside


@pytest.mark.slow
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=30,
    )
)
def test_attributes_either_pass_or_name_what_is_wrong(value: Any) -> None:
    errors = bounds.json_errors({"v": value})
    if not errors:
        # what passes can be written as strict JSON and read back, as PostgreSQL's jsonb will
        text = json.dumps({"v": value}, allow_nan=False)
        assert "\\u0000" not in text
        strict_json.loads(text.encode("utf-8"))
    else:
        assert all(path.startswith("v") and msg for path, msg in errors)
        # the refusal can itself be sent and stored: no NUL, control character or lone surrogate in it
        assert all(bounds.printable(f"{path}: {msg}") == f"{path}: {msg}" for path, msg in errors)
