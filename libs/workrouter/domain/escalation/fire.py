"""What a due timer does: the event it publishes, or nothing if the task has moved on (pure).

A timer fires only if the task's current plan still holds it (same kind and ident), so a timer
saved before the task changed is dropped. An SLA or OLA step on a task an agent has open does
not take the task away: the step is recorded with the action `flag` instead of the move.
"""

from __future__ import annotations

import uuid
from typing import Any

from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Payload
from workrouter.domain.escalation.plan import Rules, ola_for, plan, reprioritise_key, step_due
from workrouter.domain.escalation.policy import MOVES, Step
from workrouter.domain.escalation.record import OPEN_BY_AGENT, TaskRecord
from workrouter.domain.escalation.timer import Timer
from workrouter.domain.priority import MAX_DISPLAY

_IDS = uuid.UUID("5f0c7e8e-4a57-4c1e-9a55-2f1f5e1c0a11")


def timer_event_id(timer: Timer) -> str:
    """The id of the event a timer publishes: the same on every retry, unique per (task, kind, ident)."""
    return str(uuid.uuid5(_IDS, f"{timer.task_id}\x00{timer.kind}\x00{timer.ident}"))


def still_planned(timer: Timer, record: TaskRecord | None, rules: Rules) -> Timer | None:
    """The task's current timer of this kind if it is this very timer, else None (moved on)."""
    if record is None:
        return None
    return next((t for t in plan(record, rules) if t.kind == timer.kind and t.ident == timer.ident), None)


def _escalated(record: TaskRecord, timer: Timer, step: str, actions: list[str], **fields: Any) -> te.TaskEscalated:
    """A TaskEscalated, with moves turned into a flag when an agent has the task open."""
    if record.state in OPEN_BY_AGENT and MOVES & set(actions):
        actions = ["flag", *(a for a in actions if a not in MOVES)]
        fields = {**fields, "target_queue": None, "workbin": None, "agent_id": record.agent_id}
    return te.TaskEscalated(task_id=record.task_id, step=step, actions=actions, due_at=timer.due_at, **fields)


def _sla_step(record: TaskRecord, timer: Timer, rules: Rules) -> Payload | None:
    policy = next((p for p in rules.config.policies if p.name == timer.payload["policy"]), None)
    if policy is None:
        return None
    step: Step = policy.steps[timer.payload["index"]]
    return _escalated(
        record,
        timer,
        timer.payload["step"],
        list(step.actions),
        target_queue=step.queue,
        workbin=step.workbin,
        raise_by=step.raise_by or 0,
        level=step.level,
    )


def _ola_step(record: TaskRecord, timer: Timer, rules: Rules) -> Payload | None:
    ola = ola_for(rules.config.olas, record)
    if ola is None:
        return None
    actions = ["move_queue" if ola.queue else "park", *(["alert"] if ola.alert else [])]
    return _escalated(record, timer, timer.payload["step"], actions, target_queue=ola.queue, workbin=ola.workbin)


def _raise(record: TaskRecord, timer: Timer, rules: Rules) -> Payload | None:
    """The timer's step, with every later step that was already due when the task was captured, as one raise:
    one event and one reclassification instead of one per step for a task captured inside several windows.
    Counted from the capture time, not the clock, so a timer retried after a crash publishes the same raise
    (the prioritiser keeps raises by step: two different catch-ups would count the early steps twice)."""
    policy = next((p for p in rules.config.reprioritise if p.name == timer.payload["policy"]), None)
    if policy is None or record.due_at is None:
        return None
    first = last = int(timer.payload["index"])
    moment = max(timer.due_at, record.first_seen or timer.due_at)
    while last + 1 < len(policy.steps) and step_due(record.due_at, policy, last + 1) <= moment:
        last += 1
    raise_by = sum(step.raise_by for step in policy.steps[first : last + 1])
    return te.TaskReprioritised(
        task_id=record.task_id,
        priority=min(MAX_DISPLAY, record.priority + raise_by),
        reason=f"due within {policy.steps[last].before_due}",
        raise_by=raise_by,
        step=reprioritise_key(policy, last),
    )


def fire(timer: Timer, record: TaskRecord | None, rules: Rules) -> Payload | None:
    """The event the timer stands for, or None when the task has moved on since it was planned."""
    planned = still_planned(timer, record, rules)
    if planned is None or record is None:
        return None
    if planned.kind == "expiry":
        return te.TaskExpired(task_id=record.task_id, expired_at=planned.due_at)
    if planned.kind == "wake":
        return te.TaskResumed(task_id=record.task_id, by="timer", wake_at=planned.due_at)
    if planned.kind == "sla":
        return _sla_step(record, planned, rules)
    if planned.kind == "ola":
        return _ola_step(record, planned, rules)
    if planned.kind == "reprioritise":
        return _raise(record, planned, rules)
    return None
