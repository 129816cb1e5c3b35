"""Escalation planning and firing with a hand-set clock: each action, escalate once, stale timers dropped."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.escalation import T0, classified, feed, queued_task, rules
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Payload
from workrouter.domain.escalation.fire import fire, timer_event_id
from workrouter.domain.escalation.plan import Rules, plan
from workrouter.domain.escalation.record import TaskRecord
from workrouter.domain.escalation.timer import Timer

H = timedelta(hours=1)
DOC: dict[str, Any] = {
    "policies": [
        {
            "name": "std",
            "applies_to": {"queues": ["finance"]},
            "steps": [
                {"at": "50%", "actions": ["alert"], "level": "info"},
                {"at": "80%", "actions": ["raise_priority"], "raise_by": 100},
                {"at": "100%", "actions": ["move_queue", "alert"], "queue": "supervisor", "level": "critical"},
            ],
        },
        {
            "name": "lead",
            "applies_to": {"queues": ["supervisor"]},
            "steps": [{"at": "150%", "actions": ["park"], "workbin": "sam"}],
        },
    ],
    "olas": [{"worktype": "tech_ticket", "within": "12h", "queue": "experts"}],
    "reprioritise": [
        {
            "name": "due",
            "applies_to": {"queues": ["finance"]},
            "steps": [{"before_due": "1d", "raise_by": 50}, {"before_due": "4h", "raise_by": 100}],
        }
    ],
}
RULES = rules(DOC)


def run(record: TaskRecord, until: datetime, the_rules: Rules = RULES) -> list[tuple[datetime, Payload]]:
    """Fire every timer due up to `until` in time order, feeding each event back as the service does.

    Like the store, a (kind, ident) fires at most once: planning it again leaves it fired.
    """
    fired: set[tuple[str, str]] = set()
    out: list[tuple[datetime, Payload]] = []
    while True:
        due = [t for t in plan(record, the_rules) if (t.kind, t.ident) not in fired and t.due_at <= until]
        if not due:
            return out
        timer = min(due, key=lambda t: t.due_at)
        fired.add((timer.kind, timer.ident))
        event = fire(timer, record, the_rules)
        if event is not None:
            out.append((timer.due_at, event))
            record = feed(record, event, timer.due_at)


def kinds(events: list[tuple[datetime, Payload]]) -> list[tuple[float, str]]:
    """(hours after T0, what happened) for readable assertions."""
    out = []
    for at, e in events:
        what = e.step if isinstance(e, te.TaskEscalated | te.TaskReprioritised) else e.event_type
        out.append(((at - T0) / H, str(what)))
    return out


def test_an_sla_ladder_alerts_raises_then_moves_each_step_once_at_its_share() -> None:
    record = queued_task(sla_seconds=10 * 3600)
    events = run(record, T0 + 48 * H)
    assert kinds(events) == [(5.0, "sla:std:50%"), (8.0, "sla:std:80%"), (10.0, "sla:std:100%")]
    alert, raised, moved = (e for _, e in events)
    assert isinstance(alert, te.TaskEscalated)
    assert alert.actions == ["alert"]
    assert alert.level == "info"
    assert isinstance(raised, te.TaskEscalated)
    assert raised.raise_by == 100
    assert isinstance(moved, te.TaskEscalated)
    assert (moved.actions, moved.target_queue, moved.level) == (["move_queue", "alert"], "supervisor", "critical")
    assert moved.due_at == T0 + 10 * H


def test_nothing_fires_early() -> None:
    record = queued_task(sla_seconds=10 * 3600)
    assert run(record, T0 + 5 * H - timedelta(microseconds=1)) == []
    assert kinds(run(record, T0 + 5 * H)) == [(5.0, "sla:std:50%")]


def test_an_escalated_task_is_not_escalated_again_by_default() -> None:
    record = queued_task(sla_seconds=10 * 3600)
    events = run(record, T0 + 10 * H)
    record = feed(record, events[-1][1], T0 + 10 * H)
    record = feed(
        record, classified(queue="supervisor", sla_seconds=10 * 3600), T0 + 10 * H
    )  # the prioritiser moved it
    assert record.escalated
    assert [t.kind for t in plan(record, RULES)] == []  # the 'lead' policy (150%) stays silent
    assert run(record, T0 + 100 * H) == []


def test_escalate_again_lets_the_next_policy_act() -> None:
    doc = {**DOC, "policies": [DOC["policies"][0], {**DOC["policies"][1], "escalate_again": True}]}
    again = rules(doc)
    record = queued_task(sla_seconds=10 * 3600)
    for at, event in run(record, T0 + 10 * H, again):
        record = feed(record, event, at)
    record = feed(record, classified(queue="supervisor", sla_seconds=10 * 3600), T0 + 10 * H)
    events = run(record, T0 + 100 * H, again)
    assert kinds(events) == [(15.0, "sla:lead:150%")]
    park = events[0][1]
    assert isinstance(park, te.TaskEscalated)
    assert (park.actions, park.workbin) == (["park"], "sam")


def test_a_task_an_agent_has_open_is_flagged_not_moved() -> None:
    record = queued_task(sla_seconds=10 * 3600)
    for at, event in run(record, T0 + 9 * H):
        record = feed(record, event, at)
    offered = te.TaskOffered(
        task_id="t1", offer_id="o1", agent_id="ann", queue="finance", tier=0, offer_expires_at=T0 + 10 * H
    )
    record = feed(record, offered, T0 + 9 * H)
    record = feed(record, te.TaskAccepted(task_id="t1", offer_id="o1", agent_id="ann"), T0 + 9 * H)
    (_, flagged), *_ = run(record, T0 + 10 * H)
    assert isinstance(flagged, te.TaskEscalated)
    assert (flagged.actions, flagged.target_queue, flagged.agent_id) == (["flag", "alert"], None, "ann")
    assert not feed(record, flagged, T0 + 10 * H).escalated  # flagged is not moved: later steps may still move it


def test_the_ola_moves_a_step_that_overran_and_restarts_with_a_new_queue() -> None:
    record = queued_task(worktype="tech_ticket", queue="technical")
    assert kinds(run(record, T0 + 13 * H)) == [(12.0, "ola:technical@2026-11-23T09:00:00+00:00")]
    moved_on = feed(record, classified(queue="general"), T0 + 6 * H)  # a new step: its own 12 h
    assert kinds(run(moved_on, T0 + 19 * H)) == [(18.0, "ola:general@2026-11-23T15:00:00+00:00")]


def test_a_due_timer_for_a_task_that_moved_on_is_dropped() -> None:
    record = queued_task(worktype="tech_ticket", queue="technical")
    (timer,) = plan(record, RULES)
    assert fire(timer, record, RULES) is not None
    assert fire(timer, feed(record, classified(queue="general"), T0 + H), RULES) is None
    done = feed(record, te.TaskCompleted(task_id="t1", by="source"), T0 + H)
    assert done.closed
    assert plan(done, RULES) == []
    assert fire(timer, done, RULES) is None
    # a late event of an ended task arms nothing again
    assert plan(feed(done, classified(queue="technical"), T0 + 2 * H), RULES) == []


def test_expiry_and_a_reschedule_wake_up() -> None:
    record = queued_task(queue="general", expires_at=T0 + 30 * H)
    record = feed(record, te.TaskRescheduled(task_id="t1", wake_at=T0 + 3 * H), T0 + H)
    events = run(record, T0 + 40 * H)
    assert kinds(events) == [(3.0, "workrouter.task.resumed"), (30.0, "workrouter.task.expired")]
    resumed, expired = (e for _, e in events)
    assert isinstance(resumed, te.TaskResumed)
    assert resumed.by == "timer"
    assert resumed.wake_at == T0 + 3 * H
    assert isinstance(expired, te.TaskExpired)
    assert expired.expired_at == T0 + 30 * H


def test_a_second_reschedule_to_the_same_time_wakes_again() -> None:
    record = queued_task(queue="general")
    record = feed(record, te.TaskRescheduled(task_id="t1", wake_at=T0 + 3 * H), T0, "r1")
    first = [t for t in plan(record, RULES) if t.kind == "wake"]
    record = feed(record, te.TaskResumed(task_id="t1", by="timer"), T0 + 3 * H)
    record = feed(record, te.TaskRescheduled(task_id="t1", wake_at=T0 + 3 * H), T0 + 3 * H, "r2")
    second = [t for t in plan(record, RULES) if t.kind == "wake"]
    assert first[0].ident != second[0].ident


def test_due_date_steps_raise_priority_in_order_and_catch_up() -> None:
    record = queued_task(due_at=T0 + 48 * H)
    events = run(record, T0 + 48 * H)
    assert kinds(events) == [(24.0, "reprioritise:due:1d"), (44.0, "reprioritise:due:4h")]
    assert [e.raise_by for _, e in events if isinstance(e, te.TaskReprioritised)] == [50, 100]
    late = queued_task("t2", due_at=T0 + 2 * H)  # captured with both steps already past: one raise of both
    (caught_up,) = (e for _, e in run(late, T0 + 48 * H))
    assert isinstance(caught_up, te.TaskReprioritised)
    assert (caught_up.step, caught_up.raise_by) == ("reprioritise:due:4h", 150)
    assert caught_up.reason == "due within 4h"


def test_a_step_fired_late_takes_only_the_later_steps_already_due() -> None:
    record = queued_task(due_at=T0 + 20 * H)  # the 1d step is past at T0, the 4h step due at T0 + 16 h
    events = run(record, T0 + 48 * H)
    assert kinds(events) == [(-4.0, "reprioritise:due:1d"), (16.0, "reprioritise:due:4h")]
    assert [e.raise_by for _, e in events if isinstance(e, te.TaskReprioritised)] == [50, 100]


def test_a_step_that_fires_late_takes_no_later_step() -> None:
    # steps due after the capture fire one by one even if the timer fires late (escalation was down): the
    # raise must not depend on when the timer fires, or a retry after a crash would raise differently
    record = queued_task(due_at=T0 + 48 * H)
    (timer,) = [t for t in plan(record, RULES) if t.kind == "reprioritise"]
    event = fire(timer, record, RULES)
    assert isinstance(event, te.TaskReprioritised)
    assert (event.step, event.raise_by) == ("reprioritise:due:1d", 50)


@pytest.mark.parametrize("state_event", ["paused", "error_held"])
def test_no_sla_step_while_the_task_is_out_of_routing(state_event: str) -> None:
    record = queued_task(sla_seconds=3600)
    event: Payload = (
        te.TaskPaused(task_id="t1", by="source")
        if state_event == "paused"
        else te.TaskErrorHeld(task_id="t1", reason="no rule", ruleset_version="v")
    )
    assert [t.kind for t in plan(feed(record, event, T0), RULES)] == []


def test_a_timer_event_id_is_stable_per_timer_and_unique_across_them() -> None:
    a = Timer("t1", "sla", "x@1", T0)
    assert timer_event_id(a) == timer_event_id(Timer("t1", "sla", "x@1", T0 + H))
    assert (
        len(
            {
                timer_event_id(a),
                timer_event_id(Timer("t1", "sla", "x@2", T0)),
                timer_event_id(Timer("t2", "sla", "x@1", T0)),
            }
        )
        == 3
    )


def test_a_record_survives_json() -> None:
    record = queued_task(sla_seconds=3600, due_at=T0 + H, expires_at=T0 + 2 * H)
    record = feed(record, te.TaskEscalated(task_id="t1", step="s", actions=["move_queue"], target_queue="q"), T0)
    assert TaskRecord.from_json(record.to_json()) == record
