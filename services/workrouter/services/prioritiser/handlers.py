"""Prioritiser handlers: keep each task's facts, classify on capture, update, reclassify and resume."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workrouter.bus.port import Bus, Delivery, PermanentError
from workrouter.config.catalog import Catalog
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskCaptured, TaskClassified, TaskResumed, TaskUpdated
from workrouter.contracts.topics import TopicNames
from workrouter.domain.capture import FACT_FIELDS, derived_event_id
from workrouter.ports.stores import TaskFactsStore
from workrouter.services.prioritiser.decide import decide
from workrouter.services.prioritiser.rules_holder import RulesHolder

SOURCE = "/workrouter/prioritiser"
UPDATED_FIELDS = ("title", "description", "url", "attributes", "priority", "due_at", "expires_at", "sla_seconds")


@dataclass(frozen=True)
class PrioritiserDeps:
    """What the prioritiser handlers need."""

    facts: TaskFactsStore
    catalog: Catalog
    rules: RulesHolder
    bus: Bus
    topics: TopicNames = field(default_factory=TopicNames)

    def domains(self) -> Mapping[str, str]:
        """Queue name -> routing domain."""
        return {name: q.domain for name, q in self.catalog.queues.items()}


async def _facts_for(deps: PrioritiserDeps, envelope: Envelope) -> tuple[dict[str, Any], datetime] | None:
    data = envelope.data
    if isinstance(data, TaskCaptured):
        facts = data.model_dump(mode="json", include={"source", *FACT_FIELDS})
        await deps.facts.put(data.task_id, facts, envelope.time)
        return facts, envelope.time
    if not isinstance(data, TaskUpdated | ReclassifyTask | TaskResumed):
        return None
    stored = await deps.facts.get(data.task_id)
    if stored is None:
        raise PermanentError(f"{envelope.type} for task {data.task_id}, which was never captured")
    if isinstance(data, TaskUpdated):
        facts = {**stored[0], **data.model_dump(mode="json", include=set(UPDATED_FIELDS))}
        await deps.facts.put(data.task_id, facts, stored[1])
        return facts, stored[1]
    return stored


async def handle(envelope: Envelope, delivery: Delivery, deps: PrioritiserDeps) -> None:
    """Entry point for `wr.tasks`: classify what needs (re)classifying, ignore the rest."""
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
    event_id = derived_event_id(envelope.id, outcome.event_type)
    await deps.bus.publish(
        deps.topics.tasks, make_event(outcome, source=SOURCE, key=task_id, subject=task_id, event_id=event_id)
    )
    if isinstance(outcome, TaskClassified):
        routed = make_event(outcome, source=SOURCE, key=outcome.domain, subject=task_id, event_id=event_id)
        await deps.bus.publish(deps.topics.routing, routed)
