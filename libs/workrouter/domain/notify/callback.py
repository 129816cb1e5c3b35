"""Which events are called back, and the body of each callback (pure).

A callback is decided once, when its event is folded, and its body is fixed then: every attempt
sends the same bytes under the same idempotency key (the id of the event that caused it). The
target is never part of the decision: only the source's name is, and the notifier looks up the
URL and secret of that name in the registered sources when it sends.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Payload
from workrouter.domain.notify.view import TaskView, apply, iso

BODY_VERSION = 1
# event type on wr.tasks -> the callback event name sources subscribe to (sources.yaml callback_events)
CALLBACK_EVENTS: Mapping[str, str] = {
    te.TaskCompleted.event_type: "completed",
    te.TaskCancelled.event_type: "cancelled",
    te.TaskExpired.event_type: "expired",
    te.TaskEscalated.event_type: "escalated",
    te.TaskRescheduled.event_type: "rescheduled",
    te.TaskRejected.event_type: "rejected",
    te.TaskErrorHeld.event_type: "error_held",
}
Subscriptions = Mapping[str, Collection[str]]
"""Source name -> the callback events it subscribes to; only sources that have a callback URL."""


@dataclass(frozen=True, slots=True)
class NewCallback:
    """A callback to send: the idempotency key, whom it is for, and the exact body."""

    id: str  # idempotency key: the id of the event that caused it
    source: str
    task_id: str
    event: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Decision:
    """The view after an event (None: nothing to keep), whether the event ended the task, and its callback."""

    view: TaskView | None
    closed: bool
    callback: NewCallback | None


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the bytes that are signed and sent."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def details(data: Payload) -> dict[str, Any]:
    """The event's own fields (cancel reason, wake_at, escalation step, ...), without the task id."""
    fields: dict[str, Any] = data.model_dump(mode="json", exclude={"task_id", "original"})
    return fields


def body(event_id: str, event: str, occurred_at: datetime, view: TaskView, data: Payload) -> bytes:
    """The body of the callback for a task event."""
    return encode(
        {
            "version": BODY_VERSION,
            "id": event_id,
            "event": event,
            "occurred_at": iso(occurred_at),
            "task": view.report(),
            "changes": view.changes(),
            "details": details(data),
        }
    )


def decide(
    before: TaskView | None, event_type: str, data: Payload, event_id: str, time: datetime, *, subs: Subscriptions
) -> Decision:
    """Fold one task event into the view; a callback when the task's source subscribes to what happened.

    Nothing is kept for tasks of sources that take no callbacks, and an ended task is never called
    back again (a redelivered terminal event found its callback already enqueued with the view).
    """
    if before is None and isinstance(data, te.TaskCaptured) and not subs.get(data.source):
        return Decision(None, False, None)
    if before is not None and before.closed:
        return Decision(before, False, None)
    after = apply(before, event_type, data, event_id, time)
    if after is None or before is None:
        return Decision(after, False, None)  # the capture (or an event of a task whose capture we never saw)
    closed = after.closed
    event = CALLBACK_EVENTS.get(event_type)
    if event is None or event not in subs.get(after.source, ()):
        return Decision(after, closed, None)
    callback = NewCallback(event_id, after.source, after.task_id, event, body(event_id, event, time, after, data))
    return Decision(after, closed, callback)


def rejected(event_id: str, key: str, data: te.TaskRejected, time: datetime, subs: Subscriptions) -> NewCallback | None:
    """The callback for a work item refused at capture, when its source could be read and subscribes to it."""
    if data.source is None or "rejected" not in subs.get(data.source, ()):
        return None
    payload = {
        "version": BODY_VERSION,
        "id": event_id,
        "event": "rejected",
        "occurred_at": iso(time),
        "task": {"source": data.source, "external_id": data.external_id, "status": "rejected"},
        "changes": {},
        "details": details(data),
    }
    return NewCallback(event_id, data.source, key, "rejected", encode(payload))
