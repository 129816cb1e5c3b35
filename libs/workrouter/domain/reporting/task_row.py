"""The current-state row of one task (for task lists and reports): a fold over its events (pure).

The reporting service keeps one row per task, updated from the task's events in the order of
`wr.tasks`. The fold is lenient where the router is strict: it records what happened and never
refuses an event. A task that ended keeps its end: a late event changes no more than its
counters. Events of a task whose capture was never seen (the log started later) still make a
row, with what those events tell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope
from workrouter.domain.task_state import TERMINAL, TRANSITIONS, TaskState


@dataclass(slots=True)
class TaskRow:
    """One task as a supervisor's task list shows it."""

    task_id: str
    status: str = TaskState.CAPTURED.value
    source: str | None = None
    external_id: str | None = None
    type: str | None = None
    title: str = ""
    channel: str = "workitem"
    queue: str | None = None
    domain: str | None = None
    priority: int | None = None
    skills: tuple[str, ...] = ()
    agent_id: str | None = None
    created_at: datetime | None = None
    queued_at: datetime | None = None  # when it entered its current queue
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    due_at: datetime | None = None
    expires_at: datetime | None = None
    wrap_up_code: str | None = None
    offers: int = 0
    escalations: int = 0
    last_escalation: str | None = None
    updated_at: datetime | None = None
    events: int = 0

    @property
    def closed(self) -> bool:
        """True once the task completed, was cancelled or expired."""
        return self.status in TERMINAL


def fold(row: TaskRow | None, envelope: Envelope) -> TaskRow:
    """The row after one more event of its task: `row` updated in place (None: the first event seen).

    In place because ingest folds millions of events and copying a 24-field row per event was
    most of its cost; callers own the rows they pass. For the same reason an event's changes are
    found by its class in a table, not by a chain of isinstance checks.
    """
    data = envelope.data
    assert isinstance(data, te.TaskEvent)
    current = row or TaskRow(task_id=data.task_id, created_at=envelope.time)
    changes = _changes(current, data, envelope.time)
    closed = current.status in TERMINAL
    target = _TARGETS.get(envelope.type)
    if target is not None and not closed:
        changes["status"] = target
    elif closed:
        changes = {k: v for k, v in changes.items() if k in _COUNTERS}
    for name, value in changes.items():
        setattr(current, name, value)
    current.updated_at = envelope.time
    current.events += 1
    return current


_COUNTERS = frozenset({"offers", "escalations", "last_escalation"})
_TARGETS = {event_type: target.value for event_type, (_, target) in TRANSITIONS.items()}
Changes = Callable[[TaskRow, Any, datetime], dict[str, Any]]


def _captured(row: TaskRow, data: te.TaskCaptured, at: datetime) -> dict[str, Any]:
    return {
        "source": data.source,
        "external_id": data.external_id,
        "type": data.type,
        "title": data.title,
        "channel": data.channel,
        "priority": data.priority,
        "due_at": data.due_at,
        "expires_at": data.expires_at,
        "created_at": at,
    }


def _updated(row: TaskRow, data: te.TaskUpdated, at: datetime) -> dict[str, Any]:
    return {"title": data.title, "due_at": data.due_at, "expires_at": data.expires_at}


def _classified(row: TaskRow, data: te.TaskClassified, at: datetime) -> dict[str, Any]:
    return {
        "queue": data.queue,
        "domain": data.domain,
        "priority": data.priority,
        "skills": tuple(s.skill for s in data.skills),
        "channel": data.channel,
        "due_at": data.due_at,
        "expires_at": data.expires_at,
        "title": data.title or row.title,
    }


def _queued(row: TaskRow, data: te.TaskQueued, at: datetime) -> dict[str, Any]:
    moved = row.queue != data.queue or row.status not in _IN_QUEUE
    return {
        "queue": data.queue,
        "domain": data.domain,
        "agent_id": None,
        "queued_at": at if moved or row.queued_at is None else row.queued_at,
    }


def _offered(row: TaskRow, data: te.TaskOffered, at: datetime) -> dict[str, Any]:
    return {"agent_id": data.agent_id, "offers": row.offers + 1}


def _accepted(row: TaskRow, data: te.TaskAccepted, at: datetime) -> dict[str, Any]:
    return {"agent_id": data.agent_id, "accepted_at": at, "queue": data.queue or row.queue}


def _parked(row: TaskRow, data: te.TaskParked, at: datetime) -> dict[str, Any]:
    return {"agent_id": data.agent_id}


def _escalated(row: TaskRow, data: te.TaskEscalated, at: datetime) -> dict[str, Any]:
    return {"escalations": row.escalations + 1, "last_escalation": data.step}


def _reprioritised(row: TaskRow, data: te.TaskReprioritised, at: datetime) -> dict[str, Any]:
    return {"priority": data.priority}


def _wrap_up_started(row: TaskRow, data: te.TaskWrapUpStarted, at: datetime) -> dict[str, Any]:
    return {"agent_id": data.agent_id, "wrap_up_code": data.wrap_up_code}


def _completed(row: TaskRow, data: te.TaskCompleted, at: datetime) -> dict[str, Any]:
    return {
        "closed_at": at,
        "agent_id": data.agent_id or row.agent_id,
        "wrap_up_code": data.wrap_up_code or row.wrap_up_code,
    }


def _closed(row: TaskRow, data: te.TaskEvent, at: datetime) -> dict[str, Any]:
    return {"closed_at": at}


def _unassigned(row: TaskRow, data: te.TaskEvent, at: datetime) -> dict[str, Any]:
    return {"agent_id": None}


_CHANGES: dict[type[te.TaskEvent], Changes] = {
    te.TaskCaptured: _captured,
    te.TaskUpdated: _updated,
    te.TaskClassified: _classified,
    te.TaskQueued: _queued,
    te.TaskOffered: _offered,
    te.TaskOfferRevoked: _unassigned,
    te.TaskUnassigned: _unassigned,
    te.TaskAccepted: _accepted,
    te.TaskParked: _parked,
    te.TaskEscalated: _escalated,
    te.TaskReprioritised: _reprioritised,
    te.TaskWrapUpStarted: _wrap_up_started,
    te.TaskCompleted: _completed,
    te.TaskCancelled: _closed,
    te.TaskExpired: _closed,
    te.TaskRescheduled: _unassigned,
    te.TaskPaused: _unassigned,
    te.TaskErrorHeld: _unassigned,
}


def _changes(row: TaskRow, data: te.TaskEvent, at: datetime) -> dict[str, Any]:
    """The fields an event sets (status aside): by its class, or the nearest base class that has an entry."""
    for cls in type(data).__mro__:
        change = _CHANGES.get(cls)
        if change is not None:
            return change(row, data, at)
    return {}


_IN_QUEUE = frozenset({TaskState.QUEUED.value, TaskState.OFFERED.value})
