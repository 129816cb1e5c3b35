"""The current-state row of one task (for task lists and reports): a fold over its events (pure).

The reporting service keeps one row per task, updated from the task's events in the order of
`wr.tasks`. The fold is lenient where the router is strict: it records what happened and never
refuses an event. A task that ended keeps its end: a late event changes no more than its
counters. Events of a task whose capture was never seen (the log started later) still make a
row, with what those events tell.
"""

from __future__ import annotations

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
    most of its cost; callers own the rows they pass.
    """
    data = envelope.data
    assert isinstance(data, te.TaskEvent)
    current = row or TaskRow(task_id=data.task_id, created_at=envelope.time)
    changes = _changes(current, data, envelope.time)
    transition = TRANSITIONS.get(envelope.type)
    if transition is not None and not current.closed:
        changes["status"] = transition[1].value
    elif current.closed:
        changes = {k: v for k, v in changes.items() if k in _COUNTERS}
    for name, value in changes.items():
        setattr(current, name, value)
    current.updated_at = envelope.time
    current.events += 1
    return current


_COUNTERS = frozenset({"offers", "escalations", "last_escalation"})


def _changes(row: TaskRow, data: te.TaskEvent, at: datetime) -> dict[str, Any]:  # noqa: PLR0912
    """The fields an event sets (status aside)."""
    match data:
        case te.TaskCaptured():
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
        case te.TaskUpdated():
            return {"title": data.title, "due_at": data.due_at, "expires_at": data.expires_at}
        case te.TaskClassified():
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
        case te.TaskQueued():
            moved = row.queue != data.queue or row.status not in _IN_QUEUE
            return {
                "queue": data.queue,
                "domain": data.domain,
                "agent_id": None,
                "queued_at": at if moved or row.queued_at is None else row.queued_at,
            }
        case te.TaskOffered():
            return {"agent_id": data.agent_id, "offers": row.offers + 1}
        case te.TaskOfferRevoked() | te.TaskUnassigned():
            return {"agent_id": None}
        case te.TaskAccepted():
            return {"agent_id": data.agent_id, "accepted_at": at, "queue": data.queue or row.queue}
        case te.TaskParked():
            return {"agent_id": data.agent_id}
        case te.TaskEscalated():
            return {"escalations": row.escalations + 1, "last_escalation": data.step}
        case te.TaskReprioritised():
            return {"priority": data.priority}
        case te.TaskWrapUpStarted():
            return {"agent_id": data.agent_id, "wrap_up_code": data.wrap_up_code}
        case te.TaskCompleted():
            return {
                "closed_at": at,
                "agent_id": data.agent_id or row.agent_id,
                "wrap_up_code": data.wrap_up_code or row.wrap_up_code,
            }
        case te.TaskCancelled() | te.TaskExpired():
            return {"closed_at": at}
        case te.TaskRescheduled() | te.TaskPaused() | te.TaskErrorHeld():
            return {"agent_id": None}
        case _:
            return {}


_IN_QUEUE = frozenset({TaskState.QUEUED.value, TaskState.OFFERED.value})
