"""The strict reading of the task state table (libs/workrouter/domain/task_state.py): which event may happen in
which state. The product's consumers read the table leniently (`state_after`: events reach them out of order
from several services); tests use this to check that the table, the event log and the e2e runs agree."""

from __future__ import annotations

from workrouter.domain.task_state import AFTERMATH_EVENTS, STATELESS_EVENTS, TERMINAL, TRANSITIONS, TaskState


class InvalidTransitionError(ValueError):
    """The event cannot happen to a task in its current state."""


def next_state(current: TaskState | None, event_type: str) -> TaskState | None:
    """The state after `event_type`; raises InvalidTransitionError if it cannot happen now."""
    if event_type in AFTERMATH_EVENTS:
        if current is None:
            raise InvalidTransitionError(f"{event_type} for a task that is unknown")
        return current
    if event_type in STATELESS_EVENTS:
        if current is None or current in TERMINAL:
            raise InvalidTransitionError(f"{event_type} for a task that is {current or 'unknown'}")
        return current
    try:
        sources, target = TRANSITIONS[event_type]
    except KeyError:
        raise InvalidTransitionError(f"{event_type} is not a task lifecycle event") from None
    if current not in sources:
        allowed = ", ".join(sorted(s or "new" for s in sources))
        raise InvalidTransitionError(
            f"{event_type} cannot happen to a task that is {current or 'new'} (only {allowed})"
        )
    return target
