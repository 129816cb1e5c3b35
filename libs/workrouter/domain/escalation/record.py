"""What the escalation service knows of one task: a fold over the task's events on `wr.tasks` (pure).

Applying an event is idempotent and depends only on the event, so a redelivered suffix of a
partition leaves the same record. A task that ended keeps a tombstone (`closed`), so that a late
or redelivered event of it never arms a timer again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Payload
from workrouter.domain.task_state import TERMINAL, state_after

# States in which a task waits in, or is worked from, a queue: SLA and OLA steps apply.
IN_QUEUE: frozenset[str] = frozenset({"classified", "queued", "offered", "assigned", "parked"})
# States in which the task is before an agent (offered, claimed, worked on): flagged, not moved away.
OPEN_BY_AGENT: frozenset[str] = frozenset({"offered", "assigned", "wrap_up"})
# States in which a due-date priority step still matters: it waits for an agent.
WAITING: frozenset[str] = frozenset({"classified", "queued", "parked"})


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class TaskRecord:
    """The facts escalation plans a task's timers from."""

    task_id: str
    state: str = "captured"
    closed: bool = False
    worktype: str | None = None
    first_seen: datetime | None = None  # capture time (or the first event seen of the task)
    queue: str | None = None
    domain: str | None = None
    priority: int = 0  # base priority as last classified
    sla_seconds: int | None = None  # open seconds on sla_calendar
    sla_calendar: str = "24x7"
    due_at: datetime | None = None
    expires_at: datetime | None = None
    queue_since: datetime | None = None  # when it entered its current queue: the step the OLA counts
    wake_at: datetime | None = None
    wake_id: str | None = None  # the reschedule event: a new reschedule to the same time is a new timer
    agent_id: str | None = None
    done: tuple[str, ...] = ()  # escalation and reprioritisation steps already taken
    moved_by: tuple[str, ...] = ()  # the steps among them that moved the task (to a queue or a workbin)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (datetimes as ISO text)."""
        out = dataclasses.asdict(self)
        for name in ("first_seen", "due_at", "expires_at", "queue_since", "wake_at"):
            out[name] = _iso(out[name])
        out["done"], out["moved_by"] = list(self.done), list(self.moved_by)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskRecord:
        """The inverse of to_json."""
        values = dict(data)
        for name in ("first_seen", "due_at", "expires_at", "queue_since", "wake_at"):
            values[name] = _at(values.get(name))
        values["done"], values["moved_by"] = tuple(values.get("done", ())), tuple(values.get("moved_by", ()))
        return cls(**values)

    @property
    def escalated(self) -> bool:
        """Whether an escalation has moved the task already."""
        return bool(self.moved_by)


def _with_step(record: TaskRecord, step: str, *, moved: bool) -> TaskRecord:
    if step in record.done:
        return record
    moved_by = (*record.moved_by, step) if moved else record.moved_by
    return dataclasses.replace(record, done=(*record.done, step), moved_by=moved_by)


def _facts(record: TaskRecord, data: Payload, time: datetime) -> TaskRecord:
    """The facts an event brings (besides the state)."""
    r = dataclasses.replace
    if isinstance(data, te.TaskCaptured):
        return r(record, worktype=data.type, first_seen=time, due_at=data.due_at, expires_at=data.expires_at)
    if isinstance(data, te.TaskClassified):
        since = record.queue_since if data.queue == record.queue and record.queue_since else time
        return r(
            record,
            queue=data.queue,
            domain=data.domain,
            priority=data.priority,
            sla_seconds=data.sla_seconds,
            sla_calendar=data.sla_calendar,
            due_at=data.due_at,
            expires_at=data.expires_at,
            queue_since=since,
        )
    if isinstance(data, te.TaskOffered | te.TaskAccepted):
        return r(record, agent_id=data.agent_id)
    if isinstance(data, te.TaskOfferRevoked | te.TaskUnassigned):
        return r(record, agent_id=None)
    if isinstance(data, te.TaskRescheduled):
        return r(record, wake_at=data.wake_at, agent_id=None)
    if isinstance(data, te.TaskResumed):
        return r(record, wake_at=None, wake_id=None)
    if isinstance(data, te.TaskEscalated):
        moved = any(a in ("move_queue", "park") for a in data.actions)
        return _with_step(record, data.step, moved=moved)
    if isinstance(data, te.TaskReprioritised) and data.step is not None:
        return _with_step(record, data.step, moved=False)
    return record


def apply(record: TaskRecord | None, event_type: str, data: Payload, event_id: str, time: datetime) -> TaskRecord:
    """The record after one `wr.tasks` event (a new record for a task not seen before)."""
    task_id: str = data.task_id  # type: ignore[attr-defined]
    if record is None:
        record = TaskRecord(task_id=task_id, first_seen=time)
    if record.closed:
        return record
    record = _facts(record, data, time)
    if isinstance(data, te.TaskRescheduled):
        record = dataclasses.replace(record, wake_id=event_id)
    state = state_after(event_type)
    if state is None:
        return record
    if state in TERMINAL:
        return TaskRecord(task_id=task_id, state=state.value, closed=True)
    return dataclasses.replace(record, state=state.value)
