"""Prioritiser handlers: keep each task's facts, classify on capture, update, reclassify and resume.

The prioritiser is the one service that knows each task's routing domain, so it also forwards
what takes a queued task away from the router (cancel, complete, pause, reschedule, expiry, and
its own holds) from `wr.tasks` to `wr.routing`, keyed by the domain it last routed the task to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workrouter.bus.port import Bus, Delivery, PermanentError
from workrouter.config.catalog import Catalog
from workrouter.contracts.agent_commands import SupervisorAssign
from workrouter.contracts.commands import OverrideTask, ReclassifyTask
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.contracts.task_events import (
    TaskCaptured,
    TaskClassified,
    TaskCompleted,
    TaskErrorHeld,
    TaskEscalated,
    TaskReprioritised,
    TaskRescheduled,
    TaskResumed,
    TaskUpdated,
    TaskWithdrawn,
    withdrawal_types,
)
from workrouter.contracts.topics import TopicNames
from workrouter.domain.capture import FACT_FIELDS, derived_event_id
from workrouter.ports.stores import TaskFactsStore
from workrouter.services.prioritiser import overrides
from workrouter.services.prioritiser.decide import decide
from workrouter.services.prioritiser.rules_holder import RulesHolder

log = logging.getLogger(__name__)
SOURCE = "/workrouter/prioritiser"
UPDATED_FIELDS = ("title", "description", "url", "attributes", "priority", "due_at", "expires_at", "sla_seconds")
# The domain a task was last routed to, kept with its facts but out of the rules' sight: `decide`
# hands rules only RULE_FACTS, and no source can set a top-level fact of this name (the facts
# are TaskCaptured/TaskUpdated fields).
ROUTING_DOMAIN = "_routing_domain"


@dataclass(frozen=True)
class PrioritiserDeps:
    """What the prioritiser handlers need."""

    facts: TaskFactsStore
    catalog: Catalog
    rules: RulesHolder
    bus: Bus
    topics: TopicNames = field(default_factory=TopicNames)
    # Held by a poll of wr.tasks and by a poison hold from wr.deadletter, which both read a task's facts and
    # write them back: interleaved, a poll would write back facts from before the hold and undo it.
    facts_lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False)

    def domains(self) -> Mapping[str, str]:
        """Queue name -> routing domain."""
        return {name: q.domain for name, q in self.catalog.queues.items()}


CHANGES = (TaskUpdated, ReclassifyTask, OverrideTask, TaskResumed, TaskEscalated, TaskReprioritised)
# What the prioritiser reads on `wr.tasks`; every other event there is committed unread.
TYPES = frozenset(t.event_type for t in (TaskCaptured, *CHANGES)) | withdrawal_types()


def _changes_nothing(data: Payload) -> bool:
    """An escalation step that only alerts or flags: nothing to classify anew."""
    if isinstance(data, TaskEscalated):
        return data.target_queue is None and data.workbin is None and not data.raise_by
    return isinstance(data, TaskReprioritised) and not data.raise_by


async def _facts_for(deps: PrioritiserDeps, envelope: Envelope) -> tuple[dict[str, Any], datetime] | None:
    """The facts to classify on (as the event leaves them) and the capture time; None if it does not classify."""
    data = envelope.data
    if isinstance(data, TaskCaptured):
        stored = await deps.facts.get(data.task_id)
        if stored is not None and _superseded(envelope, stored[0]):
            return None
        if stored is not None and overrides.life(stored[0]) != overrides.OPEN:
            # held (a service gave up on this very capture before it got here: D13) or ended already:
            # the facts say so, and the capture must not route the task past that
            log.info("%s for task %s, which is %s: kept, not classified", envelope.type, data.task_id,
                     overrides.life(stored[0]))  # fmt: skip
            return None
        return data.model_dump(mode="json", include={"source", *FACT_FIELDS}), envelope.time
    if not isinstance(data, CHANGES) or _changes_nothing(data):
        return None
    stored = await deps.facts.get(data.task_id)
    if stored is None:
        raise PermanentError(f"{envelope.type} for task {data.task_id}, which was never captured")
    if _superseded(envelope, stored[0]):
        return None
    facts = overrides.after(stored[0], data)
    if isinstance(data, TaskUpdated):
        facts = {**facts, **data.model_dump(mode="json", include=set(UPDATED_FIELDS))}
    if overrides.life(facts) != overrides.OPEN:  # ended, or asleep until it wakes: keep, do not route
        kept = overrides.applied(facts, envelope.id)  # noted even if nothing changed: a replay must skip it
        if kept != stored[0]:
            await deps.facts.put(data.task_id, kept, stored[1])
        log.info(
            "%s for task %s, which is %s: kept, not classified", envelope.type, data.task_id, overrides.life(facts)
        )
        return None
    return facts, stored[1]


def _superseded(envelope: Envelope, facts: dict[str, Any]) -> bool:
    """A redelivered event that later ones already followed: handling it again would undo them."""
    if not overrides.superseded(facts, envelope.id):
        return False
    task_id = getattr(envelope.data, "task_id", None)
    log.info("%s %s of task %s came again after later events: superseded, skipped", envelope.type, envelope.id, task_id)
    return True


def _remembered(facts: dict[str, Any], outcome: TaskClassified | TaskErrorHeld) -> dict[str, Any]:
    """The facts to keep: with the domain the task is routed to; a held task keeps its last one."""
    return {**facts, ROUTING_DOMAIN: outcome.domain} if isinstance(outcome, TaskClassified) else facts


def _told_by_the_router(data: TaskWithdrawn) -> bool:
    """The router's own outcomes (an agent finished or rescheduled the task): it knows already."""
    return isinstance(data, TaskCompleted | TaskRescheduled) and data.by == "agent"


async def _forward_withdrawal(envelope: Envelope, data: TaskWithdrawn, deps: PrioritiserDeps) -> None:
    """Note that the task sleeps or ended; send the withdrawal to the router that has the task
    (the same envelope, so the same id, keyed by its domain)."""
    stored = await deps.facts.get(data.task_id)
    if stored is not None:
        if _superseded(envelope, stored[0]):
            return
        kept = overrides.applied(overrides.after(stored[0], data), envelope.id)  # noted even if nothing changed
        if kept != stored[0]:
            await deps.facts.put(data.task_id, kept, stored[1])
    if _told_by_the_router(data):
        return
    domain = stored[0].get(ROUTING_DOMAIN) if stored is not None else None
    if domain is None:
        log.debug("%s for task %s, which was never routed: nothing to forward", envelope.type, data.task_id)
        return
    await deps.bus.publish(deps.topics.routing, envelope.model_copy(update={"partitionkey": domain}))


async def _park(envelope: Envelope, data: TaskEscalated, domain: str, deps: PrioritiserDeps) -> None:
    """An escalation step parks the task in an agent's (a supervisor's) personal workbin."""
    assert data.workbin is not None
    park = SupervisorAssign(
        agent_id=data.workbin, domain=domain, task_id=data.task_id, action="park", supervisor=f"escalation {data.step}"
    )
    eid = derived_event_id(envelope.id, "park")
    await deps.bus.publish(
        deps.topics.routing, make_event(park, source=SOURCE, key=domain, subject=data.task_id, event_id=eid)
    )


async def handle(envelope: Envelope, delivery: Delivery, deps: PrioritiserDeps) -> None:
    """Entry point for `wr.tasks`: classify what needs (re)classifying, forward withdrawals, ignore the rest."""
    if isinstance(envelope.data, TaskWithdrawn):
        await _forward_withdrawal(envelope, envelope.data, deps)
        return
    found = await _facts_for(deps, envelope)
    if found is None:
        return
    facts, captured_at = found
    task_id = envelope.data.task_id  # type: ignore[attr-defined]
    worktype = deps.catalog.worktypes.get(facts["type"])
    ruleset = deps.rules.current
    base = worktype.base(ruleset.version) if worktype else None
    forced = envelope.data if isinstance(envelope.data, ReclassifyTask) else None
    outcome = decide(task_id, facts, captured_at, ruleset=ruleset, base=base, domains=deps.domains(), forced=forced)
    await deps.facts.put(task_id, _remembered(overrides.applied(facts, envelope.id), outcome), captured_at)
    event_id = derived_event_id(envelope.id, outcome.event_type)
    await deps.bus.publish(
        deps.topics.tasks, make_event(outcome, source=SOURCE, key=task_id, subject=task_id, event_id=event_id)
    )
    if isinstance(outcome, TaskErrorHeld) and facts.get(ROUTING_DOMAIN) is not None:
        # the router that has the task drops it (a held task is not routed), with the same event id
        held = make_event(outcome, source=SOURCE, key=facts[ROUTING_DOMAIN], subject=task_id, event_id=event_id)
        await deps.bus.publish(deps.topics.routing, held)
    if isinstance(outcome, TaskClassified):
        routed = make_event(outcome, source=SOURCE, key=outcome.domain, subject=task_id, event_id=event_id)
        await deps.bus.publish(deps.topics.routing, routed)
        before = facts.get(ROUTING_DOMAIN)
        if before is not None and before != outcome.domain:  # tell the old domain's router the task moved away
            moved = make_event(outcome, source=SOURCE, key=before, subject=task_id, event_id=event_id)
            await deps.bus.publish(deps.topics.routing, moved)
        if isinstance(envelope.data, TaskEscalated) and envelope.data.workbin is not None:
            await _park(envelope, envelope.data, outcome.domain, deps)
