"""The end-to-end checks of callbacks, the script, the event log and the reports fail on a bad run."""

from __future__ import annotations

import json

from tests.support import e2e_figures as fig
from tests.support.e2e_log import accepted, cancelled, captured, offered, queued, revoked, transferred, worked
from tests.support.e2e_outcomes import callback_problems, expected_callbacks, log_differences, plan_problems
from workrouter.contracts.envelope import Envelope

SUBS = {"crm": ["completed", "cancelled"]}


def body(event: Envelope, name: str) -> bytes:
    """The body a source would acknowledge for `event`."""
    return json.dumps({"id": event.id, "event": name, "task": {"task_id": event.data.task_id}}).encode()  # type: ignore[attr-defined]


def test_each_subscribed_event_acknowledged_once_under_its_id_passes() -> None:
    log = [*worked("t1", "a", 0), captured("t2", 0), cancelled("t2", 5), captured("t3", 0, source="bpm")]
    done, gone = log[5], log[7]
    assert set(expected_callbacks(log, SUBS)) == {done.id, gone.id}  # bpm takes no callbacks here
    acked = {"crm": {done.id: body(done, "completed"), gone.id: body(gone, "cancelled")}}
    assert callback_problems(log, SUBS, acked) == []


def test_missing_unexpected_and_wrong_callbacks_are_found() -> None:
    log = worked("t1", "a", 0) + worked("t2", "b", 0)
    done1, done2 = log[5], log[11]
    acked = {"crm": {done1.id: body(done2, "completed"), "stray": b'{"id": "stray"}'}}
    problems = callback_problems(log, SUBS, acked)
    assert len(problems) == 3
    assert any(p.startswith("wrong body") and done1.id in p for p in problems)
    assert any(p.startswith("missing") and done2.id in p for p in problems)
    assert any(p.startswith("unexpected") and "stray" in p for p in problems)


def test_nothing_is_called_back_after_the_task_ended() -> None:
    log = [*worked("t1", "a", 0), cancelled("t1", 30)]
    assert list(expected_callbacks(log, SUBS)) == [log[5].id]


def test_a_plan_that_left_no_marks_is_found() -> None:
    log = worked("t1", "a", 0)
    moved = [*log[:5], transferred("t1", 3), *log[5:]]
    assert plan_problems(moved, {"t1": ("finance", "transfer")}) == []
    (problem,) = plan_problems(log, {"t1": ("finance", "transfer")})
    assert "not a reclassification (transfer)" in problem
    assert plan_problems(log, {"t1": ("finance", "normal")}) == []
    assert len(plan_problems(log, {"t1": ("claims", "normal")})) == 1  # a claims task must be claimed (pull)


def test_the_event_log_must_hold_exactly_the_topics_events() -> None:
    assert log_differences(["a", "b"], ["b", "a"]) == []
    assert log_differences(["a", "b"], ["a"]) == ["not in the event log: 1 events, e.g. ['b']"]
    assert log_differences(["a"], ["a", "c"]) == ["in the event log only: 1 events, e.g. ['c']"]


def test_figures_from_the_events() -> None:
    log = [*worked("t1", "a", 0), captured("t2", 0), queued("t2", 0), offered("t2", "a", 1)]
    log += [revoked("t2", "a", 5), cancelled("t2", 6), captured("t3", 0, type_="lead"), queued("t3", 0)]
    log += [accepted("t3", "b", 1), transferred("t3", 2), queued("t3", 3, queue="r")]
    assert fig.task_figures(log) == {
        "claim": {"opened": 2, "completed": 1, "cancelled": 1, "escalated": 0},
        "lead": {"opened": 1, "escalated": 0},
    }
    assert fig.wrap_up_figures(log) == {"processed": {"tasks": 1}}
    queues = fig.queue_figures(log)
    assert queues["q"] == {
        "offered": 3, "answered": 2, "abandoned": 1, "transferred": 0, "withdrawn": 0, "waiting": 0,
        "offers_to_agents": 2, "ronas": 1,
    }  # fmt: skip
    assert queues["r"]["offered"] == 1
    assert queues["r"]["waiting"] == 1


def test_a_report_that_disagrees_with_the_events_is_found() -> None:
    expected = {"q": {"offered": 3, "answered": 2}}
    assert fig.differences("queue-summary", expected, {"q": {"offered": 3, "answered": 2, "ronas": 0}}) == []
    (problem,) = fig.differences("queue-summary", expected, {"q": {"offered": 3, "answered": 1}})
    assert problem == "queue-summary q: answered is 1 in the report, 2 from the events"
    (missing,) = fig.differences("tasks", {"claim": {"opened": 1}}, {})
    assert "opened is 0 in the report, 1 from the events" in missing
