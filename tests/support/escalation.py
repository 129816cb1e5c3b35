"""Building escalation records and rules for tests: events applied one by one with a hand-set time."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Payload
from workrouter.domain.durations import parse_duration
from workrouter.domain.escalation.plan import Rules
from workrouter.domain.escalation.policy import EscalationFile
from workrouter.domain.escalation.record import TaskRecord, apply

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
_ids = itertools.count(1)


class WallClockCalendars:
    """Every calendar is 24x7 and a duration's `d` is 24 h: plain arithmetic for tests of the plan itself."""

    def add(self, calendar: str, start: datetime, open_seconds: float) -> datetime:
        """start + open_seconds."""
        return start + timedelta(seconds=open_seconds)

    def seconds(self, calendar: str, duration: str) -> float:
        """The duration in seconds."""
        return float(parse_duration(duration))


def rules(doc: dict[str, Any]) -> Rules:
    """Rules from an escalation.yaml document, on wall-clock calendars."""
    return Rules(EscalationFile.model_validate(doc), WallClockCalendars())


def feed(record: TaskRecord | None, data: Payload, at: datetime, event_id: str | None = None) -> TaskRecord:
    """The record after one event at `at`."""
    return apply(record, data.event_type, data, event_id or f"e{next(_ids)}", at)


def captured(task_id: str = "t1", *, worktype: str = "invoice_dispute", **fields: Any) -> te.TaskCaptured:
    """A TaskCaptured with the least a test needs."""
    base: dict[str, Any] = {"source": "crm", "external_id": task_id, "type": worktype, "title": "A task"}
    return te.TaskCaptured(task_id=task_id, **(base | fields))


def classified(task_id: str = "t1", *, queue: str = "finance", **fields: Any) -> te.TaskClassified:
    """A TaskClassified with the least a test needs."""
    base: dict[str, Any] = {"domain": "backoffice", "priority": 400, "rule": "r", "ruleset_version": "v1"}
    return te.TaskClassified(task_id=task_id, queue=queue, **(base | fields))


def queued_task(
    task_id: str = "t1", *, at: datetime = T0, worktype: str = "invoice_dispute", **classify: Any
) -> TaskRecord:
    """A captured, classified and queued task's record."""
    record = feed(None, captured(task_id, worktype=worktype), at)
    record = feed(record, classified(task_id, **classify), at)
    queue = classify.get("queue", "finance")
    queued = te.TaskQueued(task_id=task_id, queue=queue, domain="backoffice", priority=400, sort_key="k")
    return feed(record, queued, at)
