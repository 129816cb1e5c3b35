"""Capture decisions: what a source's command does to its task, as new record + events. Pure."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from workrouter.contracts import commands as c
from workrouter.contracts import task_events as e
from workrouter.contracts.common import FieldError
from workrouter.contracts.envelope import Payload

NAMESPACE = uuid.UUID("6f1c2a8e-5b7d-4c3e-9a21-0d4f7e8b9c10")
FACT_FIELDS: tuple[str, ...] = ("type", "title", "description", "url", "channel", "attributes", "priority")
FACT_FIELDS += ("due_at", "expires_at", "sla_seconds", "requested_agent")
UPDATABLE = ("title", "description", "url", "priority", "due_at", "expires_at", "sla_seconds")
Status = Literal["open", "paused", "scheduled", "closed"]


def task_id_for(source: str, external_id: str) -> str:
    """The task id of a source's item: the same (source, external_id) always gives the same id."""
    return str(uuid.uuid5(NAMESPACE, f"{source}\x1f{external_id}"))


def derived_event_id(trigger_id: str, suffix: str) -> str:
    """A deterministic event id for an event caused by `trigger_id`, so redelivery re-emits the same id."""
    return str(uuid.uuid5(NAMESPACE, f"{trigger_id}\x1f{suffix}"))


@dataclass(frozen=True)
class CaptureRecord:
    """What capture remembers of one source item."""

    source: str
    external_id: str
    task_id: str
    fingerprint: str
    facts: dict[str, Any]
    status: Status = "open"
    version: int = 1


@dataclass(frozen=True)
class Decision:
    """The record to store (None: unchanged) and the events to publish, in order."""

    record: CaptureRecord | None
    events: list[Payload] = field(default_factory=list)


class CaptureRefusedError(ValueError):
    """The command cannot apply to the task as it stands."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{err.loc}: {err.msg}" for err in errors))
        self.errors = errors


def fingerprint(facts: dict[str, Any]) -> str:
    """A stable hash of the task's facts, to tell a repeat from a change."""
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def facts_of(cmd: c.CaptureTask) -> dict[str, Any]:
    """The task facts a capture command carries (JSON-compatible)."""
    dumped = cmd.model_dump(mode="json")
    return {name: dumped[name] for name in FACT_FIELDS}


def _refuse(loc: str, msg: str) -> CaptureRefusedError:
    return CaptureRefusedError([FieldError(loc=loc, msg=msg)])


def _updated(record: CaptureRecord, facts: dict[str, Any], changed: list[str]) -> Decision:
    new = replace(record, facts=facts, fingerprint=fingerprint(facts), version=record.version + 1)
    carried = {name: facts[name] for name in ("title", "attributes", *UPDATABLE)}
    event = e.TaskUpdated.model_validate({"task_id": record.task_id, "changed": changed, **carried})
    return Decision(new, [event])


def on_capture(existing: CaptureRecord | None, cmd: c.CaptureTask) -> Decision:
    """A new item becomes a task; a repeat does nothing; a changed repeat is an update."""
    facts = facts_of(cmd)
    if existing is None:
        task_id = task_id_for(cmd.source, cmd.external_id)
        record = CaptureRecord(cmd.source, cmd.external_id, task_id, fingerprint(facts), facts)
        return Decision(
            record, [e.TaskCaptured(task_id=task_id, source=cmd.source, external_id=cmd.external_id, **facts)]
        )
    if fingerprint(facts) == existing.fingerprint:
        return Decision(None)
    if existing.status == "closed":
        raise _refuse("external_id", f"task {existing.task_id} for {cmd.external_id!r} is already closed")
    for fixed in ("type", "channel"):
        if facts[fixed] != existing.facts[fixed]:
            raise _refuse(fixed, f"cannot change from {existing.facts[fixed]!r}; cancel the task and capture a new one")
    changed = sorted(k for k in FACT_FIELDS if facts[k] != existing.facts[k])
    return _updated(existing, facts, changed)


def _open(existing: CaptureRecord | None, cmd: c.SourceCommand) -> CaptureRecord:
    if existing is None:
        raise _refuse("external_id", f"no task {cmd.external_id!r} from source {cmd.source!r}")
    if existing.status == "closed":
        raise _refuse("external_id", f"task {existing.task_id} is already closed")
    return existing


def on_update(existing: CaptureRecord | None, cmd: c.UpdateTask) -> Decision:
    """Merge the changes; nothing to publish if nothing changed."""
    record = _open(existing, cmd)
    sent = cmd.model_dump(mode="json", exclude_unset=True)
    facts = dict(record.facts)
    for name in UPDATABLE:
        if name in sent:
            facts[name] = sent[name]
    attributes = dict(facts["attributes"])
    for key, value in cmd.attributes.items():
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    facts["attributes"] = attributes
    changed = sorted(k for k in FACT_FIELDS if facts[k] != record.facts[k])
    return _updated(record, facts, changed) if changed else Decision(None)


def on_lifecycle(existing: CaptureRecord | None, cmd: c.SourceCommand, now: datetime) -> Decision:
    """Cancel, complete, reschedule, pause or resume a source's own task."""
    record = _open(existing, cmd)
    task_id = record.task_id
    match cmd:
        case c.CancelTask():
            return Decision(
                replace(record, status="closed"), [e.TaskCancelled(task_id=task_id, by="source", reason=cmd.reason)]
            )
        case c.CompleteTask():
            event = e.TaskCompleted(task_id=task_id, by="source", wrap_up_code=cmd.wrap_up_code)
            return Decision(replace(record, status="closed"), [event])
        case c.RescheduleTask():
            if cmd.wake_at <= now:
                raise _refuse("wake_at", f"must be in the future (now is {now.isoformat()})")
            return Decision(
                replace(record, status="scheduled"), [e.TaskRescheduled(task_id=task_id, wake_at=cmd.wake_at)]
            )
        case c.PauseTask():
            if record.status == "paused":
                return Decision(None)
            return Decision(
                replace(record, status="paused"), [e.TaskPaused(task_id=task_id, by="source", reason=cmd.reason)]
            )
        case c.ResumeTask():
            if record.status not in ("paused", "scheduled"):
                return Decision(None)
            return Decision(replace(record, status="open"), [e.TaskResumed(task_id=task_id, by="source")])
    raise TypeError(f"not a lifecycle command: {type(cmd).__name__}")
