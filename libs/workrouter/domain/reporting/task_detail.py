"""One task's current facts as the event log knows them (pure): its row in `task_state` completed by the
events that carry what the row does not keep (description, URL, attributes, SLA, business value, the hold).

Read leniently, like the history: the log keeps each payload without its schema version, so a missing field
leaves its fact unknown (null) rather than failing the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workrouter.domain.priority import PriorityPolicy, display_priority
from workrouter.domain.reporting.task_history import LoggedEvent
from workrouter.domain.reporting.task_row import TaskRow
from workrouter.domain.task_state import TaskState

# The events whose payloads the detail reads (the rest is in the row); adapters fetch only these.
FACT_EVENTS = ("task.captured", "task.updated", "task.classified", "task.error_held")
ROUTER_POLICY = PriorityPolicy()  # the policy the router and the api's workbins rank by (no setting changes it)


class ErrorHold(BaseModel):
    """Why a task waits for a person (its latest `task.error_held`)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(description="Why it is held, in words an operator can act on.")
    since: datetime = Field(description="When it was held.")
    service: str | None = Field(description="The service that gave up on an event about it; null: no rule placed it.")
    dead_letter_id: str | None = Field(description="The wr.deadletter event keeping the message that failed.")


class TaskDetail(BaseModel):
    """A task's current facts, from its events in the log."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="workrouter's id of the task.")
    status: str = Field(description="Where it is in its life: queued, offered, assigned, error_held, completed, ...")
    open: bool = Field(description="False once completed, cancelled or expired.")
    source: str | None = Field(description="The source system that sent it.")
    external_id: str | None = Field(description="The source's own id of it.")
    type: str | None = Field(description="Work type.")
    title: str = Field(description="Short human title.")
    description: str | None = Field(description="Longer text, as captured or last updated; null: none given.")
    url: str | None = Field(description="Work item URL for the screen pop; null: none.")
    attributes: dict[str, Any] = Field(description="The source's attributes as captured, with later updates applied.")
    channel: str = Field(description="Media/channel: which of an agent's capacities it uses.")
    requested_agent: str | None = Field(description="The agent the source asked for; null: any agent.")
    queue: str | None = Field(description="The queue it is in (or was last in).")
    domain: str | None = Field(description="The routing domain of that queue.")
    skills: list[str] = Field(description="The skills an agent needs for it.")
    agent_id: str | None = Field(description="The agent offered it or holding it now (or who completed it).")
    priority: int | None = Field(description="Base priority (0-1000) as last classified or raised, without urgency.")
    business_value: float | None = Field(description="Business value from the rules (raises the effective priority).")
    effective_priority: int | None = Field(
        description="The priority the router ranks it by at `effective_at`: base + business value + due-date "
        "urgency (docs/prioritisation.md), 0-1000; null once closed or before classification."
    )
    effective_at: datetime | None = Field(description="When effective_priority was computed (the request's time).")
    created_at: datetime | None = Field(description="When it was captured (its first event in the log).")
    queued_at: datetime | None = Field(description="When it entered its current queue.")
    accepted_at: datetime | None = Field(description="When an agent last accepted it.")
    closed_at: datetime | None = Field(description="When it was completed, cancelled or expired.")
    updated_at: datetime | None = Field(description="Its latest event's time.")
    due_at: datetime | None = Field(description="When it is due; null: no due time.")
    expires_at: datetime | None = Field(description="When it expires; null: never.")
    sla_seconds: int | None = Field(description="Its SLA in seconds (the rules', else the source's); null: none.")
    sla_calendar: str | None = Field(description="The calendar its SLA counts in (24x7: calendar time); null: no SLA.")
    rule: str | None = Field(description="The rule that classified it last.")
    escalated: bool = Field(description="At least one escalation step ran.")
    escalations: int = Field(description="How many escalation steps ran.")
    last_escalation: str | None = Field(description="The latest escalation step, e.g. `sla:standard:80%`.")
    error_held: ErrorHold | None = Field(description="Why it waits for a person, while its status is error_held.")
    wrap_up_code: str | None = Field(description="The wrap-up code its agent gave.")
    offers: int = Field(description="How many times it was offered to an agent.")
    events: int = Field(description="How many events it has in the log (GET /v1/tasks/{task_id}/history).")


def task_detail(
    row: TaskRow, events: Iterable[LoggedEvent], now: datetime, policy: PriorityPolicy = ROUTER_POLICY
) -> TaskDetail:
    """The task's detail from its row and its FACT_EVENTS in log order; effective priority as at `now`."""
    facts = _facts(events)
    open_ = not row.closed
    value = facts.get("business_value")
    effective = None
    if open_ and row.priority is not None and facts.get("classified"):
        effective = display_priority(row.priority, float(value or 0.0), row.due_at, now, policy)
    hold = facts.get("hold") if row.status == TaskState.ERROR_HELD else None
    sla = facts.get("sla_seconds", facts.get("source_sla_seconds"))
    return TaskDetail(
        task_id=row.task_id,
        status=row.status,
        open=open_,
        source=row.source,
        external_id=row.external_id,
        type=row.type,
        title=row.title,
        description=facts.get("description"),
        url=facts.get("url"),
        attributes=facts.get("attributes") or {},
        channel=row.channel,
        requested_agent=facts.get("requested_agent"),
        queue=row.queue,
        domain=row.domain,
        skills=list(row.skills),
        agent_id=row.agent_id,
        priority=row.priority,
        business_value=value,
        effective_priority=effective,
        effective_at=now if effective is not None else None,
        created_at=row.created_at,
        queued_at=row.queued_at,
        accepted_at=row.accepted_at,
        closed_at=row.closed_at,
        updated_at=row.updated_at,
        due_at=row.due_at,
        expires_at=row.expires_at,
        sla_seconds=sla,
        sla_calendar=facts.get("sla_calendar") if sla is not None else None,
        rule=facts.get("rule"),
        escalated=row.escalations > 0,
        escalations=row.escalations,
        last_escalation=row.last_escalation,
        error_held=hold,
        wrap_up_code=row.wrap_up_code,
        offers=row.offers,
        events=row.events,
    )


def _facts(events: Iterable[LoggedEvent]) -> dict[str, Any]:
    """What the fact events say, the later overriding the earlier (only fields a payload has)."""
    facts: dict[str, Any] = {}
    for event in events:
        data = event.data
        if event.type in ("task.captured", "task.updated"):
            _take(facts, data, "description", "url", "attributes")
            if "sla_seconds" in data:
                facts["source_sla_seconds"] = _whole(data["sla_seconds"])
            if event.type == "task.captured":
                _take(facts, data, "requested_agent")
        elif event.type == "task.classified":
            facts["classified"] = True
            _take(facts, data, "url", "sla_calendar", "rule")
            if "sla_seconds" in data:
                facts["sla_seconds"] = _whole(data["sla_seconds"])
            if isinstance(data.get("business_value"), int | float):
                facts["business_value"] = float(data["business_value"])
        elif event.type == "task.error_held":
            facts["hold"] = ErrorHold(
                reason=_text(data.get("reason")),
                since=event.time,
                service=_text(data.get("service")),
                dead_letter_id=_text(data.get("dead_letter_id")),
            )
    if not isinstance(facts.get("attributes"), dict | None):
        facts["attributes"] = None
    return facts


def _take(facts: dict[str, Any], data: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if name in data:
            facts[name] = data[name] if name == "attributes" else _text(data[name])


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
