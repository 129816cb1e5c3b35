"""Four tasks' events whose list, detail and history answers are known (for the task routes of the reports).

inv-1  crm invoice INV-1 "Pay ACME": classified to finance (priority 500, value 100, SLA 1 h, due T0+2h),
       offered to noah (tier 1, RONA), offered to emma (tier 0), accepted by emma, updated by the source
       (amount 120 -> 150, new description), escalated (sla:standard:80%, alert), wrap-up and completed by emma
       with code `processed`. Closed.
clm-2  bpm claim CLM-2: classified to claims (priority 300, value 10, due 2099), escalated and moved to finance,
       queued there. Open, waiting, escalated.
tkt-3  ticketing ticket TKT-3: captured, held for a person (no rule places it). Open, error_held.
inv-4  crm invoice INV-4: classified to finance (priority 700, no due), offered to and accepted by emma. Open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from workrouter.contracts import task_events as te
from workrouter.contracts.common import SkillRequirement
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.domain.reporting.task_history import LoggedEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAR_DUE = datetime(2099, 1, 1, tzinfo=UTC)
IDS = ("inv-1", "clm-2", "tkt-3", "inv-4")


def _at(payload: te.TaskEvent, minutes: float, event_id: str) -> Envelope:
    task_id = payload.task_id
    return make_event(payload, source="/test", key=task_id, subject=task_id, time=_t(minutes), event_id=event_id)


def _t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _captured(task_id: str, source: str, type_: str, external_id: str, **facts: Any) -> te.TaskCaptured:
    return te.TaskCaptured(task_id=task_id, source=source, type=type_, external_id=external_id, **facts)


def _classified(task_id: str, queue: str, priority: int, **facts: Any) -> te.TaskClassified:
    skills = [SkillRequirement(skill=queue)]
    return te.TaskClassified(
        task_id=task_id, queue=queue, domain="backoffice", priority=priority, rule=f"{queue}-rule",
        ruleset_version="v1", skills=skills, **facts,
    )  # fmt: skip


def _queued(task_id: str, queue: str, priority: int) -> te.TaskQueued:
    return te.TaskQueued(task_id=task_id, queue=queue, domain="backoffice", priority=priority, sort_key="k")


def _offered(task_id: str, agent: str, tier: int, minutes: float) -> te.TaskOffered:
    return te.TaskOffered(
        task_id=task_id, offer_id=f"{task_id}-{agent}", agent_id=agent, queue="finance", tier=tier,
        offer_expires_at=_t(minutes + 1),
    )  # fmt: skip


def story() -> list[Envelope]:
    """The four tasks' events in the order they happened (and are written); the same ids every call."""
    steps: list[tuple[Payload, float]] = [
        (_captured("inv-1", "crm", "invoice", "INV-1", title="Pay ACME", description="first text",
                   url="https://crm.example/inv/1", attributes={"amount": 120, "customer": "ACME"}), 0),
        (_classified("inv-1", "finance", 500, business_value=100.0, sla_seconds=3600, due_at=_t(120),
                     url="https://crm.example/inv/1", title="Pay ACME"), 0.1),
        (_queued("inv-1", "finance", 500), 0.2),
        (_offered("inv-1", "noah", 1, 1), 1),
        (te.TaskOfferRevoked(task_id="inv-1", offer_id="inv-1-noah", agent_id="noah", reason="rona"), 2),
        (_offered("inv-1", "emma", 0, 3), 3),
        (te.TaskAccepted(task_id="inv-1", offer_id="inv-1-emma", agent_id="emma", queue="finance"), 3.5),
        (te.TaskUpdated(task_id="inv-1", changed=["description", "attributes"], title="Pay ACME",
                        description="second text", url="https://crm.example/inv/1",
                        attributes={"amount": 150, "customer": "ACME"}, due_at=_t(120)), 5),
        (te.TaskEscalated(task_id="inv-1", step="sla:standard:80%", actions=["alert"]), 48),
        (te.TaskWrapUpStarted(task_id="inv-1", agent_id="emma", wrap_up_code="processed"), 50),
        (te.TaskCompleted(task_id="inv-1", by="agent", agent_id="emma", wrap_up_code="processed"), 51),
        (_captured("clm-2", "bpm", "claim", "CLM-2", title="Water damage"), 10),
        (_classified("clm-2", "claims", 300, business_value=10.0, due_at=FAR_DUE), 10.1),
        (_queued("clm-2", "claims", 300), 10.2),
        (te.TaskEscalated(task_id="clm-2", step="ola:claims:1h", actions=["move_queue"], target_queue="finance"), 70),
        (_queued("clm-2", "finance", 300), 70.1),
        (_captured("tkt-3", "ticketing", "ticket", "TKT-3", title="Printer on fire"), 20),
        (te.TaskErrorHeld(task_id="tkt-3", reason="no rule places work type 'ticket'", ruleset_version="v1"), 20.1),
        (_captured("inv-4", "crm", "invoice", "INV-4", title="Pay Initech"), 30),
        (_classified("inv-4", "finance", 700), 30.1),
        (_queued("inv-4", "finance", 700), 30.2),
        (_offered("inv-4", "emma", 0, 31), 31),
        (te.TaskAccepted(task_id="inv-4", offer_id="inv-4-emma", agent_id="emma", queue="finance"), 31.5),
    ]  # fmt: skip
    events = [(payload, minutes) for payload, minutes in steps if isinstance(payload, te.TaskEvent)]
    return [_at(payload, minutes, f"story-{n:02d}") for n, (payload, minutes) in enumerate(events)]


def logged(envelopes: list[Envelope]) -> list[LoggedEvent]:
    """The envelopes as the event log keeps them (seq in order, the payload as its JSON)."""
    return [
        LoggedEvent(
            seq=seq,
            event_id=e.id,
            time=e.time,
            type=e.type.removeprefix("workrouter."),
            agent_id=e.data.__dict__.get("agent_id"),
            queue=e.data.__dict__.get("queue"),
            data=e.data.model_dump(mode="json"),
        )
        for seq, e in enumerate(envelopes, start=1)
    ]
