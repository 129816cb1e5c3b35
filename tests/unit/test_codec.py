"""The wire codec: round trips, and clear errors for everything that cannot be decoded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workrouter.contracts import codec
from workrouter.contracts.commands import CaptureTask, ReclassifyTask, UpdateTask
from workrouter.contracts.envelope import Envelope, Payload, Upcaster, make_event
from workrouter.contracts.refused import RefusedCommand
from workrouter.contracts.registry import REGISTRY, PayloadRegistry
from workrouter.contracts.task_events import TaskCaptured, TaskCompleted, TaskOffered

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20))
attributes = st.dictionaries(st.text(min_size=1, max_size=10), json_scalars, max_size=5)
aware_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=24)


@pytest.mark.slow
@given(
    task_id=ids, title=st.text(min_size=1, max_size=50), attrs=attributes, due=st.none() | aware_times, at=aware_times
)
def test_every_captured_event_survives_a_round_trip(
    task_id: str, title: str, attrs: dict[str, Any], due: datetime | None, at: datetime
) -> None:
    payload = TaskCaptured(
        task_id=task_id, source="crm", external_id="X-1", type="claim", title=title, attributes=attrs, due_at=due
    )
    envelope = make_event(payload, source="/workrouter/capture", key=task_id, subject=task_id, time=at)
    decoded = codec.decode(codec.encode(envelope))
    assert decoded == envelope
    assert isinstance(decoded.data, TaskCaptured)


def test_wire_form_uses_cloudevents_attribute_names() -> None:
    env = make_event(
        TaskCompleted(task_id="t1", by="agent", agent_id="a1", wrap_up_code="Processed"),
        source="/workrouter/router",
        key="t1",
        subject="t1",
    )
    doc = json.loads(codec.encode(env))
    assert {
        "specversion",
        "id",
        "type",
        "source",
        "subject",
        "time",
        "datacontenttype",
        "dataschema",
        "data",
    } <= doc.keys()
    assert doc["specversion"] == "1.0"
    assert doc["type"] == "workrouter.task.completed"
    assert doc["dataschema"] == "urn:workrouter:schema:workrouter.task.completed:1"
    assert doc["dataversion"] == 1
    assert doc["partitionkey"] == "t1"
    assert doc["time"].endswith("Z")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"specversion": "1.0", "data": {}}', "missing or non-string 'type'"),
        (b'{"specversion": "1.0", "type": "workrouter.task.completed"}', "missing 'data' object"),
        (
            b'{"specversion": "1.0", "type": "workrouter.task.exploded", "data": {}}',
            "unknown event type 'workrouter.task.exploded'",
        ),
        (
            b'{"specversion": "1.0", "type": "workrouter.task.completed", "dataversion": 9, "data": {}}',
            "newer than this code",
        ),
        (b'{"type": "workrouter.task.completed", "data": {}}', "'specversion' must be"),
        (
            b'{"specversion": "1.0", "type": "workrouter.task.completed", "dataversion": "2", "data": {}}',
            "'dataversion' must be a positive integer",
        ),
    ],
)
def test_undecodable_messages_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(codec.DecodeError, match=reason):
        codec.decode(raw)


def test_invalid_payload_names_each_bad_field() -> None:
    env = make_event(TaskCompleted(task_id="t1", by="agent"), source="/s", key="t1")
    doc = json.loads(codec.encode(env))
    doc["data"]["by"] = "martian"
    del doc["data"]["task_id"]
    with pytest.raises(codec.DecodeError) as err:
        codec.decode(json.dumps(doc).encode())
    assert "task_id: Field required" in str(err.value)
    assert "by: Input should be 'agent', 'source' or 'supervisor'" in str(err.value)


@pytest.mark.parametrize("bad_time", ["yesterday", 1700000000, "2.0", "1700000000", "2026-11-23T09:00:00", ""])
def test_invalid_envelope_time_is_named(bad_time: object) -> None:
    doc = json.loads(codec.encode(make_event(TaskCompleted(task_id="t1", by="agent"), source="/s", key="t1")))
    doc["time"] = bad_time
    with pytest.raises(codec.DecodeError, match="time: "):
        codec.decode(json.dumps(doc).encode())


def test_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(codec.DecodeError, match="over the 100 byte limit"):
        codec.decode(b" " * 101, max_bytes=100)


def test_unknown_payload_fields_are_refused() -> None:
    doc = json.loads(codec.encode(make_event(TaskCompleted(task_id="t1", by="agent"), source="/s", key="t1")))
    doc["data"]["surprise"] = 1
    with pytest.raises(codec.DecodeError, match="surprise: Extra inputs are not permitted"):
        codec.decode(json.dumps(doc).encode())


def _url_renamed(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["screen_pop_url"] = data.pop("url", None)
    return data


class _OfferV2(TaskOffered):
    """TaskOffered as a future v2 that renamed `url` to `screen_pop_url`."""

    event_type = "workrouter.task.offered"
    version = 2
    upcasters: ClassVar[Mapping[int, Upcaster]] = {1: _url_renamed}
    screen_pop_url: str | None = None


def test_old_versions_are_upcast_to_the_current_model() -> None:
    registry = PayloadRegistry([_OfferV2])
    v1 = TaskOffered(
        task_id="t",
        offer_id="o",
        agent_id="a",
        queue="q",
        tier=0,
        url="https://crm/1",
        offer_expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    decoded = codec.decode(codec.encode(make_event(v1, source="/s", key="t")), registry)
    assert isinstance(decoded.data, _OfferV2)
    assert decoded.data.screen_pop_url == "https://crm/1"
    assert decoded.dataversion == 2
    assert decoded.dataschema.endswith(":2")


def test_registry_refuses_duplicate_types() -> None:
    with pytest.raises(ValueError, match="duplicate event type"):
        PayloadRegistry([TaskOffered, _OfferV2])


def test_registry_knows_every_payload_class() -> None:
    def subclasses(cls: type[Payload]) -> set[type[Payload]]:
        out = set()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("workrouter.") and "event_type" in vars(sub):
                out.add(sub)
            out |= subclasses(sub)
        return out

    never_on_the_wire = {RefusedCommand}  # made by the codec for a refusable payload that breaks its contract
    assert set(REGISTRY.models()) == subclasses(Payload) - never_on_the_wire


def test_capture_command_validates_limits() -> None:
    with pytest.raises(ValueError, match="external_id"):
        CaptureTask(source="crm", external_id="", type="claim", title="t")


def test_envelope_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Envelope(
            id="1",
            type="workrouter.task.completed",
            source="/s",
            time=datetime(2026, 1, 1),
            dataschema="x",
            dataversion=1,
            partitionkey="k",
            data=TaskCompleted(task_id="t", by="agent"),
        )


def test_an_update_crosses_the_wire_as_a_merge_patch() -> None:
    """Fields left out stay left out on the wire; an explicit null survives as a null."""
    update = UpdateTask.model_validate(
        {"source": "crm", "external_id": "X-1", "description": None, "attributes": {"vip": True}}
    )
    raw = codec.encode(make_event(update, source="/workrouter/api", key="crm"))
    assert json.loads(raw)["data"] == {
        "source": "crm",
        "external_id": "X-1",
        "description": None,
        "attributes": {"vip": True},
    }
    decoded = codec.decode(raw).data
    assert isinstance(decoded, UpdateTask)
    assert decoded.model_fields_set == {"source", "external_id", "description", "attributes"}


def test_an_update_cannot_clear_the_title() -> None:
    with pytest.raises(ValueError, match="title cannot be cleared"):
        UpdateTask.model_validate({"source": "crm", "external_id": "X-1", "title": None})


def test_a_reclassification_from_before_by_is_read_and_a_newer_one_refused() -> None:
    """ReclassifyTask v2 added `by` (who asked); a v1 message still in a topic reads as by = None, and a
    consumer meeting a version newer than its own says to upgrade it instead of guessing."""
    v1 = (
        b'{"specversion":"1.0","id":"e1","type":"workrouter.command.reclassify_task","source":"/old",'
        b'"time":"2026-12-01T09:00:00Z","datacontenttype":"application/json",'
        b'"dataschema":"urn:workrouter:schema:workrouter.command.reclassify_task:1","dataversion":1,'
        b'"partitionkey":"t1","data":{"task_id":"t1","reason":"fixed","queue":null,"skills":null}}'
    )
    decoded = codec.decode(v1)
    assert isinstance(decoded.data, ReclassifyTask)
    assert (decoded.data.reason, decoded.data.by, decoded.dataversion) == ("fixed", None, 2)
    with pytest.raises(codec.DecodeError, match="upgrade the consumer"):
        codec.decode(v1.replace(b'"dataversion":1', b'"dataversion":3'))


def test_the_withdrawals_are_declared_once_by_their_base_class() -> None:
    """The prioritiser forwards and the router withdraws exactly these (task_events.TaskWithdrawn); the router
    also takes a held task out of routing."""
    from workrouter.contracts import task_events as te  # noqa: PLC0415 - local to this test

    assert te.withdrawal_types() == {
        "workrouter.task.cancelled",
        "workrouter.task.completed",
        "workrouter.task.expired",
        "workrouter.task.paused",
        "workrouter.task.rescheduled",
    }
    assert (te.TaskWithdrawn, te.TaskErrorHeld) == te.OUT_OF_ROUTING
    assert not issubclass(te.TaskResumed, te.TaskWithdrawn)
