"""Pull work as the api sees it in Redis: which waiting tasks an agent may take now, and in which order (pure).

The api lists workbins, claims and hands out "get next" from the queue entries the router keeps in
Redis (entry.py), without asking the router; the rules are the engine's (pull.py, explain.py):

- a task naming preferred agents is for them alone while its preferred phase lasts (their skills
  at the task's own minimum count, the queue's tiers do not apply yet); then the queue's tiers
  widen with time and a member agent qualifies with every needed skill at max(task minimum, tier
  minimum);
- best first: the priority now (docs/prioritisation.md: constant until the urgent band, then
  growing with time — the engine's score), then the longest waiting, then the first queued.

The priority now is compared exactly: max(static, urgent + rate * hours(now)), the urgent sum kept as a
pair of floats (its rounded value and the exact remainder), so the order of any two tasks is the order
of two time-invariant scores whatever `now` is. That is what lets the api read pull work from sorted
sets kept once per task (pull_index.py) and get exactly this order (docs/decisions.md, "pull indexes").
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from workrouter.domain.priority import PriorityPolicy, static_score
from workrouter.domain.routing.entry import QueueEntry, tier_at
from workrouter.domain.routing.model import AgentProfile, Mode, QueuePolicy, SkillNeeds, Tier

PREFERRED_PHASE = -1  # tier_at's answer while only the task's preferred agents may take it
DEFAULT_PRIORITY = PriorityPolicy()

log = logging.getLogger(__name__)


def parse_entries(raw: Mapping[str, Mapping[str, Any]]) -> list[QueueEntry]:
    """The entries read from Redis (task id -> JSON); an unreadable one is logged and left out."""
    entries: list[QueueEntry] = []
    for task_id, data in raw.items():
        try:
            entries.append(QueueEntry.from_json(dict(data)))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("queue entry of task %s is unreadable and left out: %r", task_id, exc)
    return entries


def is_waiting(data: Mapping[str, Any], held: bool) -> bool:
    """True for an entry no agent holds, not parked in a personal workbin and not in after-work."""
    return not held and data.get("parked_for") is None and data.get("after_work_until") is None


def urgent_score(entry: QueueEntry, policy: PriorityPolicy = DEFAULT_PRIORITY) -> float | None:
    """The task's time-invariant score in the urgent band, as the engine computes it (None: no due time)."""
    if entry.due_at is None:
        return None
    static = static_score(entry.base, entry.business_value, policy)
    return static + policy.urgency_per_hour * (policy.horizon_hours - entry.due_at / 3600.0)


def urgency_now(now: float, policy: PriorityPolicy = DEFAULT_PRIORITY) -> float:
    """What every urgent task gains by `now`: its priority is urgent_score + this (the engine's `rate * hours`)."""
    return policy.urgency_per_hour * (now / 3600.0)


def exact_sum(a: float, b: float) -> tuple[float, float]:
    """a + b as (rounded sum, exact remainder) (Knuth's TwoSum): pairs compare as the exact sums do."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def priority_pair(entry: QueueEntry, now: float, policy: PriorityPolicy = DEFAULT_PRIORITY) -> tuple[float, float]:
    """The priority at `now`, exactly: (rounded, remainder); the static score until the urgent line passes it."""
    static = (static_score(entry.base, entry.business_value, policy), 0.0)
    urgent = urgent_score(entry, policy)
    if urgent is None:
        return static
    return max(static, exact_sum(urgent, urgency_now(now, policy)))


def priority_now(entry: QueueEntry, now: float, policy: PriorityPolicy = DEFAULT_PRIORITY) -> float:
    """The task's priority at `now` (epoch seconds), as the engine scores it."""
    return priority_pair(entry, now, policy)[0]


OrderKey = tuple[float, float, float, int]


def order_key(entry: QueueEntry, now: float, policy: PriorityPolicy = DEFAULT_PRIORITY) -> OrderKey:
    """Smaller is better: the highest priority now, then the longest waiting, then the first queued."""
    high, low = priority_pair(entry, now, policy)
    return (-high, -low, entry.enqueued_at, entry.seq)


def next_tier_in(entry: QueueEntry, policy: QueuePolicy, now: float) -> float | None:
    """Seconds until the task's target tier next widens (or its preferred phase ends); None at the last tier."""
    tier = tier_at(entry, policy, now)
    start = entry.enqueued_at + (policy.preferred_seconds if entry.preferred else 0.0)
    if tier == PREFERRED_PHASE:
        return start - now
    if tier + 1 < len(policy.tiers):
        return start + policy.tiers[tier + 1].after_seconds - now
    return None


def skill_gap(profile: AgentProfile, needs: SkillNeeds, tier: Tier, tier_index: int) -> str:
    """The first skill the agent lacks or has too low for the tier ("" when it has them all)."""
    where = "as a preferred agent" if tier_index == PREFERRED_PHASE else f"in tier {tier_index}"
    for skill, level in needs:
        need = max(level, tier.min_level)
        have = profile.skills.get(skill)
        if have is None:
            return f"lacks skill {skill}"
        if have < need:
            return f"{skill} level {have} < {need} needed {where}"
    return ""


def tier_refusal(profile: AgentProfile, entry: QueueEntry, policy: QueuePolicy, now: float) -> str:
    """Why the agent is outside the waiting task's current target ("" when inside); presence and
    capacity are not looked at."""
    tier = tier_at(entry, policy, now)
    if tier == PREFERRED_PHASE:
        if profile.agent_id not in entry.preferred:
            return "only the task's preferred agents are tried for now"
        return skill_gap(profile, entry.needs, Tier(0), tier)
    if entry.queue not in profile.queues:
        return f"not a member of queue {entry.queue}"
    return skill_gap(profile, entry.needs, policy.tiers[tier], tier)


def pull_refusal(profile: AgentProfile, entry: QueueEntry, policy: QueuePolicy, now: float) -> str:
    """Why the agent may not claim the waiting task from its queue now ("" when it may)."""
    if policy.mode is not Mode.PULL:
        return f"queue {entry.queue} is a push queue; its tasks are offered, not claimed"
    return tier_refusal(profile, entry, policy, now)


def workbin(
    profile: AgentProfile,
    policy: QueuePolicy,
    entries: Iterable[QueueEntry],
    now: float,
    *,
    limit: int,
    priority: PriorityPolicy = DEFAULT_PRIORITY,
) -> list[QueueEntry]:
    """Up to `limit` waiting tasks of the queue `policy` that the agent may claim now, best first."""
    mine = (
        e
        for e in entries
        if e.queue == policy.name and e.parked_for is None and not pull_refusal(profile, e, policy, now)
    )
    return heapq.nsmallest(limit, mine, key=lambda e: order_key(e, now, priority))


def next_candidates(
    profile: AgentProfile,
    queues: Mapping[str, QueuePolicy],
    entries: Iterable[QueueEntry],
    now: float,
    *,
    limit: int,
    priority: PriorityPolicy = DEFAULT_PRIORITY,
) -> list[QueueEntry]:
    """Up to `limit` waiting tasks of the agent's pull queues it may take now, best first ("get next")."""
    mine = (
        e
        for e in entries
        if e.parked_for is None
        and e.queue in profile.queues
        and e.queue in queues
        and not pull_refusal(profile, e, queues[e.queue], now)
    )
    return heapq.nsmallest(limit, mine, key=lambda e: order_key(e, now, priority))


def personal_workbin(agent_id: str, entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    """The tasks a supervisor parked for the agent, oldest first."""
    return sorted((e for e in entries if e.parked_for == agent_id), key=lambda e: (e.enqueued_at, e.seq))
