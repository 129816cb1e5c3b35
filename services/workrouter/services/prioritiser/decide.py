"""From a task's facts to its classification: rules over work-type defaults, then the source's overrides. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.task_events import TaskClassified, TaskErrorHeld
from workrouter.domain.priority import MAX_DISPLAY
from workrouter.domain.rules import Classification, RuleSet, classify
from workrouter.services.prioritiser.overrides import queue_chosen, raised_by

RULE_FACTS = ("source", "type", "channel", "title", "priority", "requested_agent", "attributes")


def _at(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _after(start: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else start + timedelta(seconds=seconds)


def _base_priority(facts: Mapping[str, Any], ruled: int | None) -> int:
    """The source's priority if it set one, else the rules'."""
    given = facts.get("priority")
    return int(given) if given is not None else (ruled or 0)


def deciding_rule(matched: tuple[str, ...], ruleset: RuleSet) -> str:
    """The rule that decided: the last one applied other than the gap-filling default ("worktype" if none)."""
    decisive = [rule for rule in matched if rule != ruleset.default.id]
    return decisive[-1] if decisive else (matched[-1] if matched else "worktype")


def decide(
    task_id: str,
    facts: Mapping[str, Any],
    captured_at: datetime,
    *,
    ruleset: RuleSet,
    base: Classification | None,
    domains: Mapping[str, str],
    forced: ReclassifyTask | None = None,
) -> TaskClassified | TaskErrorHeld:
    """Classify one task; a task no rule can place is held with the reason, never dropped."""
    result = classify(ruleset, {name: facts.get(name) for name in RULE_FACTS}, base)
    queue, skills, rule = result.queue, list(result.skills), deciding_rule(result.matched, ruleset)
    chosen = queue_chosen(facts)
    if chosen is not None:
        queue, rule = chosen[0], f"chosen:{chosen[1]}"[:200]
    if forced is not None:
        queue = forced.queue or queue
        skills = list(forced.skills) if forced.skills is not None else skills
        rule = f"reclassify:{forced.reason}"[:200] if (forced.queue or forced.skills is not None) else rule
    if queue is None:
        reason = f"no rule or work-type default sets a queue (rules applied: {', '.join(result.matched) or 'none'})"
        return TaskErrorHeld(task_id=task_id, reason=reason, ruleset_version=ruleset.version)
    if queue not in domains:
        reason = f"queue {queue!r} (from rule {rule!r}) is not configured in queues.yaml"
        return TaskErrorHeld(task_id=task_id, reason=reason, ruleset_version=ruleset.version)
    sla = facts.get("sla_seconds") or result.sla_seconds
    return TaskClassified(
        task_id=task_id,
        queue=queue,
        domain=domains[queue],
        skills=skills,
        priority=min(MAX_DISPLAY, _base_priority(facts, result.priority) + raised_by(facts)),
        business_value=result.business_value or 0.0,
        sla_seconds=sla,
        sla_calendar=result.sla_calendar,
        due_at=_at(facts.get("due_at")) or _after(captured_at, result.due_in_seconds) or _after(captured_at, sla),
        expires_at=_at(facts.get("expires_at")) or _after(captured_at, result.expires_in_seconds),
        rule=rule,
        rules=list(result.matched),
        ruleset_version=ruleset.version,
        channel=facts.get("channel") or "workitem",
        url=facts.get("url"),
        title=facts.get("title") or "",
        preferred_agents=[facts["requested_agent"]] if facts.get("requested_agent") else [],
        captured_at=captured_at,
    )
