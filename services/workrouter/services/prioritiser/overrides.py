"""What the prioritiser keeps with a task's facts besides the source's fields (pure).

- `_life`: open, sleeping (rescheduled or paused: not in routing), held (a service could not process
  an event about it: a poison hold) or closed (ended). A closed task is never classified again; a
  sleeping one is classified only when it wakes (TaskResumed); a held one only when a person
  reclassifies it (`workrouter reclassify`), whatever its source or a timer does meanwhile.
- `_queue`: a queue chosen by a person or an escalation (transfer, escalation move, `make
  reclassify QUEUE=`); it outlives later updates from the source, the last choice wins, and a
  reclassification without a queue hands the choice back to the rules.
- `_poison`: the dead letters that held the task (the last few, with the service that gave up), so
  that a replayed one does not hold it again once a person released it, and a service that fails
  on every event of a held task holds it once.
- `_raises`: priority points added by escalation and due-date steps, by step, so that a
  redelivered step adds nothing twice; they add to whatever the rules or the source set.
- `_applied`: the ids of the last events applied to the facts, oldest first. After a crash the
  prioritiser is handed again every event since its last commit, on facts that already hold the
  later ones. An event applied before the last one is *superseded*: applying it again would undo
  what came after it (a transfer re-applied after the reclassification that followed it, a pause
  after the resume) and publish a stale classification under its old id, which routers cannot tell
  from a current one. It is skipped; the last one is handled again (its outcome is the current one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workrouter.contracts.commands import OverrideTask, ReclassifyTask
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

LIFE, QUEUE, RAISES, POISON, APPLIED = "_life", "_queue", "_raises", "_poison", "_applied"
KEEP_POISON = 20  # dead letters remembered per task
KEEP_APPLIED = 64  # event ids remembered per task: more than a crash leaves uncommitted for one task
OPEN, SLEEPING, HELD, CLOSED = "open", "sleeping", "held", "closed"


def life(facts: dict[str, Any]) -> str:
    """open, sleeping, held or closed."""
    return str(facts.get(LIFE, OPEN))


def after(facts: dict[str, Any], data: Payload) -> dict[str, Any]:
    """The kept facts after an event or command (unchanged if it changes none of them)."""
    if isinstance(data, TaskCompleted | TaskCancelled | TaskExpired):
        return {**facts, LIFE: CLOSED}
    if life(facts) == CLOSED:
        return facts
    held = life(facts) == HELD
    if isinstance(data, TaskRescheduled | TaskPaused):
        return facts if held else {**facts, LIFE: SLEEPING}
    if isinstance(data, TaskResumed):
        return facts if held else {**facts, LIFE: OPEN}
    if isinstance(data, OverrideTask):  # a supervisor's priority, SLA or due time, as a source's update sets them
        return {**facts, **data.changes()}
    if isinstance(data, ReclassifyTask):  # a person's reclassification also releases a held task
        chosen = {**facts, QUEUE: None if data.queue is None else {"queue": data.queue, "by": data.reason}}
        return {**chosen, LIFE: OPEN} if held else chosen
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


def held(facts: dict[str, Any], dead_letter_id: str, service: str) -> dict[str, Any]:
    """The kept facts of a task put on a poison hold by a dead letter (an ended task stays ended)."""
    if life(facts) == CLOSED:
        return facts
    by = [p for p in facts.get(POISON) or [] if p["id"] != dead_letter_id][-(KEEP_POISON - 1) :]
    return {**facts, LIFE: HELD, POISON: [*by, {"id": dead_letter_id, "service": service}]}


def held_by(facts: Mapping[str, Any], dead_letter_id: str) -> bool:
    """True once this dead letter held the task (a replayed one must not hold a released task again)."""
    return any(p["id"] == dead_letter_id for p in facts.get(POISON) or [])


def held_for(facts: Mapping[str, Any], service: str) -> bool:
    """True while the task is held and this service already gave up on it (its next dead letters add nothing)."""
    return life(dict(facts)) == HELD and any(p["service"] == service for p in facts.get(POISON) or [])


def queue_chosen(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    """(queue, who chose it and why) when a person or an escalation chose the queue."""
    value = facts.get(QUEUE)
    return None if not value else (str(value["queue"]), str(value["by"]))


def raised_by(facts: Mapping[str, Any]) -> int:
    """Priority points added by steps."""
    return sum(int(v) for v in (facts.get(RAISES) or {}).values())


def applied(facts: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The facts noting that the event with this id was applied to them (the last one)."""
    ids = [i for i in facts.get(APPLIED) or [] if i != event_id][-(KEEP_APPLIED - 1) :]
    return {**facts, APPLIED: [*ids, event_id]}


def superseded(facts: Mapping[str, Any], event_id: str) -> bool:
    """True if this event was applied before, and another one after it (a redelivery after a crash)."""
    ids = facts.get(APPLIED) or []
    return event_id in ids and ids[-1] != event_id
