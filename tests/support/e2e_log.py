"""Small event logs for the unit tests of the end-to-end checks: one task's history in a few lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workrouter.contracts import task_events as te
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.common import SkillRequirement
from workrouter.contracts.envelope import Envelope, Payload, make_event

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def at(payload: Payload, seconds: float, task_id: str) -> Envelope:
    """The payload as an event of `task_id`, `seconds` after T0."""
    return make_event(payload, source="/test", key=task_id, subject=task_id, time=T0 + timedelta(seconds=seconds))


def captured(task_id: str, t: float = 0, source: str = "crm", type_: str = "claim") -> Envelope:
    """TaskCaptured."""
    payload = te.TaskCaptured(task_id=task_id, source=source, external_id=f"x-{task_id}", type=type_, title="t")
    return at(payload, t, task_id)


def classified(task_id: str, t: float, queue: str = "q", level: int = 10) -> Envelope:
    """TaskClassified into `queue`, needing skill `s` at `level`."""
    payload = te.TaskClassified(
        task_id=task_id, queue=queue, domain="d", skills=[SkillRequirement(skill="s", min_level=level)],
        priority=100, rule="r", ruleset_version="1",
    )  # fmt: skip
    return at(payload, t, task_id)


def queued(task_id: str, t: float, queue: str = "q") -> Envelope:
    """TaskQueued."""
    return at(te.TaskQueued(task_id=task_id, queue=queue, domain="d", priority=100, sort_key="k"), t, task_id)


def offered(task_id: str, agent: str, t: float, tier: int = 0, queue: str = "q") -> Envelope:
    """TaskOffered to `agent` from `tier`."""
    payload = te.TaskOffered(
        task_id=task_id, offer_id=f"o-{task_id}-{agent}-{t}", agent_id=agent, queue=queue, tier=tier,
        offer_expires_at=T0 + timedelta(seconds=t + 30),
    )  # fmt: skip
    return at(payload, t, task_id)


def accepted(task_id: str, agent: str, t: float, how: str = "offer", queue: str = "q") -> Envelope:
    """TaskAccepted by `agent`."""
    return at(te.TaskAccepted(task_id=task_id, agent_id=agent, how=how, queue=queue), t, task_id)


def revoked(task_id: str, agent: str, t: float, reason: str = "rona") -> Envelope:
    """TaskOfferRevoked."""
    payload = te.TaskOfferRevoked(task_id=task_id, offer_id="o", agent_id=agent, reason=reason)
    return at(payload, t, task_id)


def wrap_up(task_id: str, agent: str, t: float, after: float) -> Envelope:
    """TaskWrapUpStarted with `after` seconds of after-work."""
    return at(te.TaskWrapUpStarted(task_id=task_id, agent_id=agent, after_work_seconds=after), t, task_id)


def completed(task_id: str, agent: str | None, t: float, code: str | None = "processed") -> Envelope:
    """TaskCompleted by the agent (or by the source when `agent` is None)."""
    by = "agent" if agent else "source"
    return at(te.TaskCompleted(task_id=task_id, by=by, agent_id=agent, wrap_up_code=code), t, task_id)


def cancelled(task_id: str, t: float) -> Envelope:
    """TaskCancelled by the source."""
    return at(te.TaskCancelled(task_id=task_id, by="source", reason="gone"), t, task_id)


def transferred(task_id: str, t: float, queue: str = "q") -> Envelope:
    """The router's reclassification command for a transfer."""
    return at(ReclassifyTask(task_id=task_id, reason="transfer", queue=queue), t, task_id)


def worked(task_id: str, agent: str, start: float, *, tier: int = 0) -> list[Envelope]:
    """A task captured at `start`, offered to `agent` and completed by it 10 s later."""
    return [
        captured(task_id, start),
        classified(task_id, start),
        queued(task_id, start),
        offered(task_id, agent, start + 1, tier=tier),
        accepted(task_id, agent, start + 2),
        completed(task_id, agent, start + 10),
    ]
