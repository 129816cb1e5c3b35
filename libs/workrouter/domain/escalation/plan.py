"""Which timers a task needs now, from its record and the escalation rules (pure).

A task has at most one timer of each kind: `expiry`, `wake` (a rescheduled task), `sla` (the next
step of its SLA ladder not yet taken), `ola` (its current step's operational level) and
`reprioritise` (the next due-date priority step). Each timer's ident names the facts it was
planned from, so a fired timer is never armed again for the same facts, and a timer whose facts
changed (the task moved on) is replaced or dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from workrouter.domain.durations import parse_duration
from workrouter.domain.escalation.policy import Applies, EscalationFile, Ola, Reprioritisation, SlaPolicy
from workrouter.domain.escalation.record import IN_QUEUE, WAITING, TaskRecord
from workrouter.domain.escalation.timer import Timer


class Calendars(Protocol):
    """Business-time arithmetic on named calendars."""

    def add(self, calendar: str, start: datetime, open_seconds: float) -> datetime:
        """The instant `open_seconds` of open time after `start` on the calendar."""
        ...

    def seconds(self, calendar: str, duration: str) -> float:
        """Open seconds in a duration text ('12h', '2d') on the calendar."""
        ...


@dataclass(frozen=True)
class Rules:
    """The escalation configuration and the calendars it counts on."""

    config: EscalationFile
    calendars: Calendars


class HasApplies(Protocol):
    """A policy with an `applies_to`."""

    @property
    def applies_to(self) -> Applies: ...


P = TypeVar("P", bound=HasApplies)


def policy_for(policies: Sequence[P], record: TaskRecord) -> P | None:
    """The first policy naming the task's queue, else the first naming its work type."""
    by_queue = next((p for p in policies if record.queue in p.applies_to.queues), None)
    if by_queue is not None:
        return by_queue
    return next((p for p in policies if record.worktype in p.applies_to.worktypes), None)


def ola_for(olas: Sequence[Ola], record: TaskRecord) -> Ola | None:
    """The OLA of the task's work type, if any."""
    return next((o for o in olas if o.worktype == record.worktype), None)


def _sla(record: TaskRecord, policy: SlaPolicy | None, rules: Rules) -> Timer | None:
    if policy is None or record.state not in IN_QUEUE or not record.sla_seconds or record.first_seen is None:
        return None
    if record.escalated and not policy.escalate_again:
        return None
    for index, step in enumerate(policy.steps):
        key = f"sla:{policy.name}:{step.at}"
        if key in record.done:
            continue
        start = record.first_seen
        due = rules.calendars.add(record.sla_calendar, start, step.fraction * record.sla_seconds)
        ident = f"{key}@{record.sla_seconds}s/{record.sla_calendar}/{start.isoformat()}"
        return Timer(record.task_id, "sla", ident, due, {"step": key, "policy": policy.name, "index": index})
    return None


def _ola(record: TaskRecord, ola: Ola | None, rules: Rules) -> Timer | None:
    if ola is None or record.state not in IN_QUEUE or record.queue_since is None or record.queue is None:
        return None
    if record.queue == ola.queue or (record.escalated and not ola.escalate_again):
        return None
    key = f"ola:{record.queue}@{record.queue_since.isoformat()}"
    if key in record.done:
        return None
    due = rules.calendars.add(ola.calendar, record.queue_since, rules.calendars.seconds(ola.calendar, ola.within))
    return Timer(record.task_id, "ola", f"{key}/{ola.within}/{ola.calendar}", due, {"step": key})


def reprioritise_key(policy: Reprioritisation, index: int) -> str:
    """The name a due-date step is recorded as done under."""
    return f"reprioritise:{policy.name}:{policy.steps[index].before_due}"


def step_due(due_at: datetime, policy: Reprioritisation, index: int) -> datetime:
    """When a due-date step is due: its `before_due` before the task's due time."""
    return due_at - timedelta(seconds=parse_duration(policy.steps[index].before_due))


def _reprioritise(record: TaskRecord, policy: Reprioritisation | None) -> Timer | None:
    """The step after the last one taken (a step that fired took every earlier step it caught up with)."""
    if policy is None or record.due_at is None or record.state not in WAITING:
        return None
    keys = [reprioritise_key(policy, i) for i in range(len(policy.steps))]
    taken = max((i for i, key in enumerate(keys) if key in record.done), default=-1)
    if taken + 1 >= len(keys):
        return None
    index, key = taken + 1, keys[taken + 1]
    ident = f"{key}@{record.due_at.isoformat()}"
    due = step_due(record.due_at, policy, index)
    return Timer(record.task_id, "reprioritise", ident, due, {"step": key, "policy": policy.name, "index": index})


def plan(record: TaskRecord, rules: Rules) -> list[Timer]:
    """Every timer the task needs now (none for a closed task)."""
    if record.closed:
        return []
    config = rules.config
    timers: list[Timer | None] = [
        _sla(record, policy_for(config.policies, record), rules),
        _ola(record, ola_for(config.olas, record), rules),
        _reprioritise(record, policy_for(config.reprioritise, record)),
    ]
    if record.expires_at is not None:
        timers.append(Timer(record.task_id, "expiry", f"expiry@{record.expires_at.isoformat()}", record.expires_at))
    if record.state == "scheduled" and record.wake_at is not None and record.wake_id is not None:
        timers.append(Timer(record.task_id, "wake", f"wake:{record.wake_id}", record.wake_at))
    return [t for t in timers if t is not None]
