"""How tasks, holds and explanations look in the agent API's answers (JSON-ready dicts)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.routing import RoutingConfig
from workrouter.domain.priority import MAX_DISPLAY, MIN_DISPLAY, PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry, tier_at
from workrouter.domain.routing.explain_snapshot import TaskExplanation
from workrouter.domain.routing.holds import HELD_STATE, offer_id
from workrouter.domain.routing.workbin import priority_now


def iso(seconds: float | None) -> str | None:
    """Epoch seconds as an RFC 3339 UTC string."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def task_view(entry: QueueEntry, routing: RoutingConfig, now: float, priority: PriorityPolicy) -> dict[str, Any]:
    """A queued task as an agent sees it in a workbin or a claim. `priority` is the task's base priority (the
    rules' or the source's, the number the task list, the reports and the capture API show); `priority_now`
    is its effective priority at `now` (base, business value and due-date urgency: what orders the work),
    rounded to the display range, and `priority_score` the same unrounded."""
    policy = routing.queues.get(entry.queue)
    score = priority_now(entry, now, priority)
    return {
        "task_id": entry.task_id,
        "queue": entry.queue,
        "title": entry.title,
        "url": entry.url,
        "channel": entry.channel,
        "priority": entry.base,
        "priority_now": round(min(float(MAX_DISPLAY), max(float(MIN_DISPLAY), score))),
        "priority_score": score,
        "skills": [{"skill": skill, "min_level": level} for skill, level in entry.needs],
        "enqueued_at": iso(entry.enqueued_at),
        "waited_seconds": now - entry.enqueued_at,
        "due_at": iso(entry.due_at),
        "tier": None if policy is None else tier_at(entry, policy, now),
        "parked_for": entry.parked_for,
    }


def hold_view(task_id: str, holder: Holder, entry: QueueEntry | None, routing: RoutingConfig) -> dict[str, Any]:
    """One of an agent's holds: an offer to answer, a claim to start, or an assigned task."""
    view: dict[str, Any] = {
        "task_id": task_id,
        "state": HELD_STATE[holder.kind],
        "kind": holder.kind,
        "channel": holder.channel,
        "since": iso(holder.since),
    }
    policy = routing.queues.get(entry.queue) if entry is not None else None
    if holder.kind in ("offer", "claim"):
        view["offer_id"] = offer_id(task_id, holder.agent_id, holder.since)
        if policy is not None:
            timeout = policy.offer_timeout_seconds if holder.kind == "offer" else policy.claim_timeout_seconds
            view["expires_at"] = iso(holder.since + timeout)
    if entry is not None:
        view.update(queue=entry.queue, title=entry.title, url=entry.url, priority=entry.base, due_at=iso(entry.due_at))
        if entry.after_work_until is not None:  # finished; capacity comes back when after-work ends
            view.update(state="after_work", until=iso(entry.after_work_until))
    return view


def explanation_view(explanation: TaskExplanation) -> dict[str, Any]:
    """An explanation as JSON."""
    return asdict(explanation)
