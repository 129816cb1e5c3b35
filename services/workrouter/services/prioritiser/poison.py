"""The prioritiser's consumer of `wr.deadletter`: a task that a service gave up on is held, visibly (D13).

A consumer that cannot process a message dead-letters it and moves on. When the message was about
a task, this handler puts the task on error_held with the service (consumer group) and the reason:
a `TaskErrorHeld` on `wr.tasks` for everyone, and on `wr.routing` for the router that has the task,
which drops it from its queue and releases any offer or assignment. A person releases it after the
fix with `workrouter reclassify`. The hold's id derives from the dead letter's, so a redelivered
dead letter publishes the same event; a replayed one never holds a released task again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from workrouter.bus.port import Delivery
from workrouter.contracts import codec
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskCaptured
from workrouter.domain import poison
from workrouter.domain.capture import FACT_FIELDS
from workrouter.services.prioritiser import overrides
from workrouter.services.prioritiser.handlers import ROUTING_DOMAIN, SOURCE, PrioritiserDeps

log = logging.getLogger(__name__)
POISON_HELD = Counter(
    "workrouter_tasks_poison_held",
    "Tasks put on error_held because a service (consumer group) could not process an event about them.",
    ["service"],
)
NOT_HELD = Counter(
    "workrouter_dead_letters_not_held",
    "Dead letters that held no task, by why: topic, hold, refused_command, no_task, unknown_task, ended, released, "
    "already_held.",
    ["why"],
)


def _captured(letter: DeadLettered) -> tuple[dict[str, Any], datetime] | None:
    """The facts of a capture that never reached the prioritiser's store (its own handler gave up on it)."""
    if letter.value_encoding != "utf-8":
        return None
    try:
        original = codec.decode(letter.value.encode())
    except codec.DecodeError:
        return None
    if not isinstance(original.data, TaskCaptured):
        return None
    return original.data.model_dump(mode="json", include={"source", *FACT_FIELDS}), original.time


def _not_held(why: str, envelope: Envelope, detail: str = "") -> None:
    NOT_HELD.labels(why).inc()
    log.info("dead letter %s holds no task (%s) %s", envelope.id, why, detail)


async def handle_dead_letter(envelope: Envelope, delivery: Delivery, deps: PrioritiserDeps) -> None:
    """Entry point for `wr.deadletter`: hold the task the dead letter leaves in limbo, if any (never in the
    middle of a poll of wr.tasks, which would write back the facts it read before the hold)."""
    async with deps.facts_lock:
        await _hold(envelope, deps)


async def _hold(envelope: Envelope, deps: PrioritiserDeps) -> None:
    letter = envelope.data
    if not isinstance(letter, DeadLettered):
        return
    found = poison.poisoned(letter, deps.topics)
    if isinstance(found, poison.NotHeld):
        _not_held(found.why, envelope)
        return
    stored = await deps.facts.get(found.task_id) or _captured(letter)
    if stored is None:
        _not_held("unknown_task", envelope, f"(task {found.task_id} was never captured)")
        return
    facts, captured_at = stored
    if overrides.life(facts) == overrides.CLOSED:
        _not_held("ended", envelope, f"(task {found.task_id} ended)")
        return
    if overrides.held_by(facts, envelope.id):
        if overrides.life(facts) != overrides.HELD:
            _not_held("released", envelope, f"(task {found.task_id} was released since)")
            return
    elif overrides.held_for(facts, letter.group):
        _not_held("already_held", envelope, f"({letter.group} holds task {found.task_id} already)")
        return
    await deps.facts.put(found.task_id, overrides.held(facts, envelope.id, letter.group), captured_at)
    held = poison.hold(letter, envelope.id, found.task_id, found.failed_type, deps.rules.current.version)
    eid = poison.hold_event_id(envelope.id)
    task_id = found.task_id
    await deps.bus.publish(
        deps.topics.tasks, make_event(held, source=SOURCE, key=task_id, subject=task_id, event_id=eid)
    )
    domain = facts.get(ROUTING_DOMAIN)
    if domain is not None:  # the router that has the task drops it and releases its agent
        await deps.bus.publish(
            deps.topics.routing, make_event(held, source=SOURCE, key=domain, subject=task_id, event_id=eid)
        )
    POISON_HELD.labels(letter.group).inc()
    log.warning("task %s held: %s", task_id, held.reason)
