"""Task states and the one transition table: which event moves a task from which state to which."""

from __future__ import annotations

import enum
from collections.abc import Mapping


class TaskState(enum.StrEnum):
    """Where a task is in its life."""

    CAPTURED = "captured"
    CLASSIFIED = "classified"
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"
    PARKED = "parked"
    SCHEDULED = "scheduled"
    PAUSED = "paused"
    ERROR_HELD = "error_held"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


S = TaskState
TERMINAL: frozenset[TaskState] = frozenset({S.COMPLETED, S.CANCELLED, S.EXPIRED})
OPEN: frozenset[TaskState] = frozenset(TaskState) - TERMINAL
WAITING: frozenset[TaskState] = frozenset({S.CLASSIFIED, S.QUEUED, S.PARKED, S.SCHEDULED, S.PAUSED, S.ERROR_HELD})

# event type -> (states it may happen in, state it leads to); None as source = a new task.
TRANSITIONS: Mapping[str, tuple[frozenset[TaskState | None], TaskState]] = {
    "workrouter.task.captured": (frozenset({None}), S.CAPTURED),
    "workrouter.task.classified": (
        frozenset({S.CAPTURED, S.CLASSIFIED, S.QUEUED, S.PARKED, S.ASSIGNED, S.ERROR_HELD}),
        S.CLASSIFIED,
    ),
    # any open task: a service that cannot process an event about it holds it wherever it was (a poison hold)
    "workrouter.task.error_held": (OPEN, S.ERROR_HELD),
    "workrouter.task.queued": (
        frozenset({S.CLASSIFIED, S.OFFERED, S.PARKED, S.SCHEDULED, S.ASSIGNED, S.QUEUED}),
        S.QUEUED,
    ),
    "workrouter.task.offered": (frozenset({S.QUEUED}), S.OFFERED),
    "workrouter.task.offer_revoked": (frozenset({S.OFFERED}), S.QUEUED),
    "workrouter.task.accepted": (frozenset({S.OFFERED, S.QUEUED, S.PARKED}), S.ASSIGNED),
    "workrouter.task.parked": (frozenset({S.CLASSIFIED, S.QUEUED, S.ASSIGNED, S.PARKED}), S.PARKED),
    "workrouter.task.wrap_up_started": (frozenset({S.ASSIGNED}), S.WRAP_UP),
    "workrouter.task.completed": (OPEN - {S.CAPTURED}, S.COMPLETED),
    "workrouter.task.rescheduled": (OPEN - {S.CAPTURED, S.OFFERED, S.WRAP_UP}, S.SCHEDULED),
    "workrouter.task.paused": (OPEN - {S.CAPTURED, S.OFFERED, S.WRAP_UP, S.PAUSED}, S.PAUSED),
    "workrouter.task.resumed": (frozenset({S.PAUSED, S.SCHEDULED}), S.CAPTURED),
    "workrouter.task.cancelled": (OPEN, S.CANCELLED),
    "workrouter.task.expired": (OPEN, S.EXPIRED),
}

# Events that are part of a task's history but leave its state as it is.
STATELESS_EVENTS: frozenset[str] = frozenset(
    {"workrouter.task.updated", "workrouter.task.escalated", "workrouter.task.reprioritised"}
)
# Events that end an agent's hold after the withdrawal that changed the state (which may have ended the task).
AFTERMATH_EVENTS: frozenset[str] = frozenset({"workrouter.task.unassigned"})


def state_after(event_type: str) -> TaskState | None:
    """The state a lifecycle event leads to, or None for an event that changes no state. Consumers that can see a
    task's events out of their order (they come from several services) take it without checking the state before;
    the table's sources say in which states each event is valid (tests/support/task_lifecycle.py checks them)."""
    transition = TRANSITIONS.get(event_type)
    return None if transition is None else transition[1]
