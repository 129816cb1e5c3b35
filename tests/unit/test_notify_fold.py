"""Folding a task's events into what its source is told, and the callback bodies (pure, hand-set times)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.support.notifier import T0, captured, completed
from workrouter.contracts import task_events as te
from workrouter.contracts.common import FieldError
from workrouter.contracts.envelope import Payload
from workrouter.domain.notify.callback import Decision, decide, rejected
from workrouter.domain.notify.view import TaskView, iso

SUBS = {"crm": frozenset({"completed", "cancelled", "expired", "escalated", "rescheduled", "rejected"})}
M = timedelta(minutes=1)


class Feed:
    """Feeds events one by one, a minute apart, keeping the view between them."""

    def __init__(self, subs: dict[str, frozenset[str]] = SUBS) -> None:
        self.view: TaskView | None = None
        self.at = T0
        self.n = 0
        self.subs = subs

    def __call__(self, data: Payload, event_id: str | None = None) -> Decision:
        self.n += 1
        decision = decide(self.view, data.event_type, data, event_id or f"e{self.n}", self.at, subs=self.subs)
        self.view = decision.view
        self.at += M
        return decision


def body_of(decision: Decision) -> dict[str, Any]:
    assert decision.callback is not None
    parsed: dict[str, Any] = json.loads(decision.callback.body)
    return parsed


def lifecycle(feed: Feed, task_id: str = "t1") -> None:
    feed(captured(task_id, attributes={"segment": "Bronze", "amount": 10}, priority=300))
    feed(te.TaskClassified(task_id=task_id, queue="claims", domain="d", priority=400, rule="r", ruleset_version="v1"))
    feed(te.TaskQueued(task_id=task_id, queue="claims", domain="d", priority=400, sort_key="k"))
    feed(te.TaskOffered(task_id=task_id, offer_id="o", agent_id="alice", queue="claims", tier=0, offer_expires_at=T0))
    feed(te.TaskAccepted(task_id=task_id, offer_id="o", agent_id="alice"))
    feed(te.TaskWrapUpStarted(task_id=task_id, agent_id="alice", wrap_up_code="processed"))


def test_a_completion_reports_the_final_state_of_the_task() -> None:
    feed = Feed()
    lifecycle(feed)
    decision = feed(completed("t1", wrap_up_code="resolved"), event_id="done-1")
    assert decision.closed
    body = body_of(decision)
    assert (body["version"], body["id"], body["event"]) == (1, "done-1", "completed")
    assert body["occurred_at"] == iso(T0 + 6 * M)
    task = body["task"]
    assert {k: task[k] for k in ("task_id", "source", "external_id", "type", "status", "queue", "agent_id")} == {
        "task_id": "t1",
        "source": "crm",
        "external_id": "EXT-t1",
        "type": "claim",
        "status": "completed",
        "queue": "claims",
        "agent_id": "alice",
    }
    assert (task["wrap_up_code"], task["priority"], task["title"]) == ("resolved", 400, "Water damage")
    assert task["attributes"] == {"segment": "Bronze", "amount": 10}
    assert task["captured_at"] == iso(T0)
    assert task["assigned_at"] == iso(T0 + 4 * M)
    assert task["closed_at"] == iso(T0 + 6 * M)
    assert body["changes"] == {}
    assert body["details"] == {"by": "agent", "agent_id": "alice", "wrap_up_code": "resolved"}
    assert decision.callback is not None
    assert (decision.callback.id, decision.callback.source, decision.callback.event) == ("done-1", "crm", "completed")


def test_changes_since_capture_come_from_the_sources_updates() -> None:
    feed = Feed()
    lifecycle(feed)
    due = T0 + timedelta(days=2)
    feed(
        te.TaskUpdated(
            task_id="t1",
            changed=["attributes", "title", "due_at"],
            title="Water damage, kitchen",
            attributes={"segment": "Gold", "language": "en"},
            priority=300,
            due_at=due,
        )
    )
    body = body_of(feed(completed("t1")))
    assert body["changes"] == {
        "title": {"from": "Water damage", "to": "Water damage, kitchen"},
        "due_at": {"from": None, "to": iso(due)},
        "attributes.amount": {"from": 10, "to": None},
        "attributes.language": {"from": None, "to": "en"},
        "attributes.segment": {"from": "Bronze", "to": "Gold"},
    }
    assert body["task"]["attributes"] == {"segment": "Gold", "language": "en"}
    assert body["task"]["title"] == "Water damage, kitchen"


def test_cancel_expire_escalate_and_reschedule_carry_their_own_fields() -> None:
    feed = Feed()
    lifecycle(feed)
    escalated = body_of(
        feed(te.TaskEscalated(task_id="t1", step="sla:std:80%", actions=["move_queue"], target_queue="boss"))
    )
    assert escalated["event"] == "escalated"
    assert escalated["task"]["queue"] == "boss"
    assert escalated["details"]["step"] == "sla:std:80%"
    assert escalated["details"]["target_queue"] == "boss"
    wake = T0 + timedelta(days=1)
    later = body_of(feed(te.TaskRescheduled(task_id="t1", wake_at=wake, by="agent", agent_id="a", reason="at 3")))
    assert later["event"] == "rescheduled"
    assert later["task"]["status"] == "scheduled"
    assert later["details"] == {"wake_at": iso(wake), "by": "agent", "agent_id": "a", "reason": "at 3"}
    cancelled = body_of(feed(te.TaskCancelled(task_id="t1", by="source", reason="duplicate case")))
    assert cancelled["task"]["status"] == "cancelled"
    assert cancelled["details"] == {"by": "source", "reason": "duplicate case"}
    other = Feed()
    other(captured("t2"))
    expired = body_of(other(te.TaskExpired(task_id="t2", expired_at=T0)))
    assert expired["event"] == "expired"
    assert expired["task"]["status"] == "expired"


def test_an_ended_task_is_never_called_back_again() -> None:
    feed = Feed()
    lifecycle(feed)
    first = feed(completed("t1"), event_id="done")
    assert first.callback is not None
    redelivered = feed(completed("t1"), event_id="done")
    assert redelivered.callback is None
    assert not redelivered.closed
    assert redelivered.view == first.view
    second = feed(te.TaskCancelled(task_id="t1", by="system", reason="late"), event_id="other")
    assert second.callback is None
    assert second.view == first.view


def test_only_subscribed_events_of_sources_with_a_target_are_called_back() -> None:
    only_completed = Feed({"crm": frozenset({"completed"})})
    only_completed(captured("t1"))
    kept = only_completed(te.TaskCancelled(task_id="t1", by="source", reason="no"))
    assert kept.callback is None
    assert kept.closed
    assert kept.view is not None
    no_target = Feed({"crm": frozenset({"completed"})})
    assert no_target(captured("t2", source="ticketing")).view is None  # nothing kept for a source without callbacks
    assert no_target(completed("t2")).view is None


def test_events_of_a_task_whose_capture_was_never_seen_are_not_called_back() -> None:
    feed = Feed()
    decision = feed(completed("unknown"))
    assert decision == Decision(None, False, None)


def test_a_callback_url_in_the_task_attributes_is_just_an_attribute() -> None:
    feed = Feed()
    feed(captured("t1", attributes={"callback_url": "http://evil.example/steal", "source": "bpm"}))
    decision = feed(completed("t1"))
    assert decision.callback is not None
    assert decision.callback.source == "crm"
    assert body_of(decision)["task"]["attributes"]["callback_url"] == "http://evil.example/steal"


def test_the_view_round_trips_through_json() -> None:
    feed = Feed()
    lifecycle(feed)
    assert feed.view is not None
    assert TaskView.from_json(json.loads(json.dumps(feed.view.to_json()))) == feed.view


def test_a_rejected_item_is_called_back_when_its_source_subscribes() -> None:
    data = te.TaskRejected(
        source="crm", external_id="X-1", errors=[FieldError(loc="type", msg="unknown")], original="{...}"
    )
    callback = rejected("rej-1", "task-key", data, datetime(2026, 1, 1, tzinfo=T0.tzinfo), SUBS)
    assert callback is not None
    assert (callback.id, callback.task_id, callback.event) == ("rej-1", "task-key", "rejected")
    body = json.loads(callback.body)
    assert body["task"] == {"source": "crm", "external_id": "X-1", "status": "rejected"}
    assert body["details"]["errors"] == [{"loc": "type", "msg": "unknown"}]
    assert "original" not in body["details"]
    assert rejected("r2", "k", data, T0, {"crm": frozenset({"completed"})}) is None
    unreadable = te.TaskRejected(errors=[FieldError(loc="<root>", msg="not JSON")], original="%%")
    assert rejected("r3", "k", unreadable, T0, SUBS) is None


def test_the_body_is_compact_sorted_json_so_its_bytes_are_stable() -> None:
    feed = Feed()
    feed(captured("t1", attributes={"b": 1, "a": 2}))
    raw = feed(completed("t1")).callback
    assert raw is not None
    assert raw.body == json.dumps(json.loads(raw.body), separators=(",", ":"), sort_keys=True).encode()
