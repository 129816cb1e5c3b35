"""What the prioritiser keeps with a task's facts besides the source's fields (pure).

- `_life`: open, sleeping (rescheduled or paused: not in routing) or closed (ended). A closed task
  is never classified again; a sleeping one is classified only when it wakes (TaskResumed).
- `_queue`: a queue chosen by a person or an escalation (transfer, escalation move, `make
  reclassify QUEUE=`); it outlives later updates from the source, the last choice wins, and a
  reclassification without a queue hands the choice back to the rules.
- `_raises`: priority points added by escalation and due-date steps, by step, so that a
  redelivered step adds nothing twice; they add to whatever the rules or the source set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Payload
from workrouter.contracts.task_events import (
    TaskCancelled,
    TaskCompleted,
    TaskEscalated,
    TaskExpired,
    TaskPaused,
    TaskReprioritised,
    TaskRescheduled,
    TaskResumed,
)

LIFE, QUEUE, RAISES = "_life", "_queue", "_raises"
OPEN, SLEEPING, CLOSED = "open", "sleeping", "closed"


def life(facts: dict[str, Any]) -> str:
    """open, sleeping or closed."""
    return str(facts.get(LIFE, OPEN))


def after(facts: dict[str, Any], data: Payload) -> dict[str, Any]:
    """The kept facts after an event or command (unchanged if it changes none of them)."""
    if isinstance(data, TaskCompleted | TaskCancelled | TaskExpired):
        return {**facts, LIFE: CLOSED}
    if life(facts) == CLOSED:
        return facts
    if isinstance(data, TaskRescheduled | TaskPaused):
        return {**facts, LIFE: SLEEPING}
    if isinstance(data, TaskResumed):
        return {**facts, LIFE: OPEN}
    if isinstance(data, ReclassifyTask):
        return {**facts, QUEUE: None if data.queue is None else {"queue": data.queue, "by": data.reason}}
    if isinstance(data, TaskEscalated | TaskReprioritised):
        step = data.step if data.step is not None else ""
        raises = dict(facts.get(RAISES) or {})
        if data.raise_by and step:
            raises[step] = data.raise_by
        kept = {**facts, RAISES: raises}
        if isinstance(data, TaskEscalated) and data.target_queue is not None:
            kept[QUEUE] = {"queue": data.target_queue, "by": f"escalation {data.step}"}
        return kept
    return facts


def queue_chosen(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    """(queue, who chose it and why) when a person or an escalation chose the queue."""
    value = facts.get(QUEUE)
    return None if not value else (str(value["queue"]), str(value["by"]))


def raised_by(facts: Mapping[str, Any]) -> int:
    """Priority points added by steps."""
    return sum(int(v) for v in (facts.get(RAISES) or {}).values())
