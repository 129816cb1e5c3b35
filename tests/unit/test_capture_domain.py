"""Capture decisions: dedup, updates and a source's lifecycle commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workrouter.contracts import commands as c
from workrouter.contracts import task_events as e
from workrouter.domain import capture

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def cmd(**over: object) -> c.CaptureTask:
    fields: dict[str, object] = {"source": "crm", "external_id": "CASE-1", "type": "claim", "title": "Broken pipe"}
    fields["attributes"] = {"department": "Claims", "segment": "Gold"}
    return c.CaptureTask.model_validate({**fields, **over})


def captured() -> capture.CaptureRecord:
    record = capture.on_capture(None, cmd()).record
    assert record is not None
    return record


def test_a_new_item_becomes_a_task_with_an_id_derived_from_the_source_id() -> None:
    decision = capture.on_capture(None, cmd())
    (event,) = decision.events
    assert isinstance(event, e.TaskCaptured)
    assert event.task_id == capture.task_id_for("crm", "CASE-1") == capture.task_id_for("crm", "CASE-1")
    assert event.task_id != capture.task_id_for("bpm", "CASE-1")
    assert event.attributes == {"department": "Claims", "segment": "Gold"}


def test_an_identical_repeat_does_nothing() -> None:
    assert capture.on_capture(captured(), cmd()) == capture.Decision(None)


def test_a_changed_repeat_is_an_update_naming_what_changed() -> None:
    decision = capture.on_capture(captured(), cmd(title="Burst pipe", attributes={"department": "Claims"}))
    (event,) = decision.events
    assert isinstance(event, e.TaskUpdated)
    assert event.changed == ["attributes", "title"]
    assert decision.record is not None
    assert decision.record.version == 2


def test_the_type_of_a_task_cannot_change() -> None:
    with pytest.raises(capture.CaptureRefusedError, match="type: cannot change from 'claim'"):
        capture.on_capture(captured(), cmd(type="lead"))


def test_update_merges_attributes_and_null_removes_a_key() -> None:
    update = c.UpdateTask(source="crm", external_id="CASE-1", attributes={"segment": None, "vip": True})
    decision = capture.on_update(captured(), update)
    (event,) = decision.events
    assert isinstance(event, e.TaskUpdated)
    assert event.attributes == {"department": "Claims", "vip": True}
    assert event.title == "Broken pipe"


def test_update_leaves_unsent_fields_alone_and_null_clears_one() -> None:
    record = capture.on_capture(None, cmd(description="leak under sink", url="https://crm/1")).record
    update = c.UpdateTask.model_validate({"source": "crm", "external_id": "CASE-1", "description": None})
    (event,) = capture.on_update(record, update).events
    assert isinstance(event, e.TaskUpdated)
    assert (event.changed, event.description, event.url, event.title) == (
        ["description"],
        None,
        "https://crm/1",
        "Broken pipe",
    )


def test_update_that_changes_nothing_says_nothing() -> None:
    update = c.UpdateTask(source="crm", external_id="CASE-1", attributes={"segment": "Gold"})
    assert capture.on_update(captured(), update) == capture.Decision(None)


def test_commands_for_unknown_tasks_are_refused() -> None:
    with pytest.raises(capture.CaptureRefusedError, match="no task 'CASE-9' from source 'crm'"):
        capture.on_lifecycle(None, c.CancelTask(source="crm", external_id="CASE-9"), NOW)


def test_cancel_closes_the_task_and_later_commands_are_refused() -> None:
    decision = capture.on_lifecycle(captured(), c.CancelTask(source="crm", external_id="CASE-1", reason="dup"), NOW)
    assert isinstance(decision.events[0], e.TaskCancelled)
    closed = decision.record
    assert closed is not None
    assert closed.status == "closed"
    with pytest.raises(capture.CaptureRefusedError, match="already closed"):
        capture.on_lifecycle(closed, c.PauseTask(source="crm", external_id="CASE-1"), NOW)
    with pytest.raises(capture.CaptureRefusedError, match="already closed"):
        capture.on_capture(closed, cmd(title="again, changed"))
    assert capture.on_capture(closed, cmd()) == capture.Decision(None), "an identical repeat stays harmless"


def test_reschedule_must_be_in_the_future() -> None:
    past = c.RescheduleTask(source="crm", external_id="CASE-1", wake_at=NOW - timedelta(minutes=1))
    with pytest.raises(capture.CaptureRefusedError, match="wake_at: must be in the future"):
        capture.on_lifecycle(captured(), past, NOW)
    later = c.RescheduleTask(source="crm", external_id="CASE-1", wake_at=NOW + timedelta(days=1))
    decision = capture.on_lifecycle(captured(), later, NOW)
    assert decision.record is not None
    assert decision.record.status == "scheduled"


def test_pause_and_resume_are_idempotent() -> None:
    paused = capture.on_lifecycle(captured(), c.PauseTask(source="crm", external_id="CASE-1"), NOW).record
    assert paused is not None
    assert paused.status == "paused"
    assert capture.on_lifecycle(paused, c.PauseTask(source="crm", external_id="CASE-1"), NOW) == capture.Decision(None)
    resumed = capture.on_lifecycle(paused, c.ResumeTask(source="crm", external_id="CASE-1"), NOW)
    assert [type(ev) for ev in resumed.events] == [e.TaskResumed]
    assert capture.on_lifecycle(captured(), c.ResumeTask(source="crm", external_id="CASE-1"), NOW) == capture.Decision(
        None
    )


def test_derived_event_ids_are_stable_and_distinct() -> None:
    assert capture.derived_event_id("abc", "x") == capture.derived_event_id("abc", "x")
    assert capture.derived_event_id("abc", "x") != capture.derived_event_id("abc", "y")
