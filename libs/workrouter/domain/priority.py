"""The priority of a task at a given time, from its base priority, business value and due time (pure).

    priority_at(now) = base + V + urgency_per_hour * max(0, horizon_hours - hours_until_due(now))
    V                = value_weight * ln(1 + max(0, business_value))

A task's priority is constant (`static_score`) until `urgent_from(due_at)`, then grows linearly with time.
In that urgent band, priority_at(now) == urgent_score + urgency_per_hour * epoch_hours(now), where
urgent_score does not depend on now: the order of urgent tasks never changes as time passes, so a queue
is kept as two time-invariant sorted sets (see docs/prioritisation.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_DISPLAY, MAX_DISPLAY = 0, 1000


@dataclass(frozen=True)
class PriorityPolicy:
    """The weights of the priority function; one policy is shared by the router and escalation."""

    value_weight: float = 50.0  # points per e-fold of business value: V = value_weight * ln(1 + max(0, value))
    urgency_per_hour: float = 10.0  # points gained per hour once inside the horizon
    horizon_hours: float = 72.0  # urgency starts this long before the due time

    def __post_init__(self) -> None:
        for name in ("value_weight", "urgency_per_hour", "horizon_hours"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"PriorityPolicy.{name} must be a finite number >= 0, got {value!r}")


def _aware(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {t.isoformat()}")
    return t


def epoch_hours(t: datetime) -> float:
    """Hours since the Unix epoch (1970-01-01T00:00Z) of an aware datetime."""
    return _aware(t, "t").timestamp() / 3600.0


def value_points(business_value: float, policy: PriorityPolicy = PriorityPolicy()) -> float:
    """V: the points business value adds, value_weight * ln(1 + max(0, value))."""
    return policy.value_weight * math.log1p(max(0.0, business_value))


def static_score(base: int, business_value: float, policy: PriorityPolicy = PriorityPolicy()) -> float:
    """base + V: the priority of a task that is not (yet) in the urgent band."""
    return base + value_points(business_value, policy)


def urgent_from(due_at: datetime, policy: PriorityPolicy = PriorityPolicy()) -> datetime:
    """When the task enters the urgent band: horizon_hours before it is due."""
    return _aware(due_at, "due_at") - timedelta(hours=policy.horizon_hours)


def urgent_score(
    base: int, business_value: float, due_at: datetime, policy: PriorityPolicy = PriorityPolicy()
) -> float:
    """The time-invariant score of a task in the urgent band: priority_at(now) - urgency_per_hour * epoch_hours(now)."""
    return static_score(base, business_value, policy) + policy.urgency_per_hour * (
        policy.horizon_hours - epoch_hours(due_at)
    )


def priority_at(
    base: int,
    business_value: float,
    due_at: datetime | None,
    now: datetime,
    policy: PriorityPolicy = PriorityPolicy(),
) -> float:
    """The priority at `now`: base + V, plus urgency_per_hour for each hour inside the horizon (growing past due)."""
    score = static_score(base, business_value, policy)
    _aware(now, "now")
    if due_at is None:
        return score
    hours_until_due = (_aware(due_at, "due_at") - now).total_seconds() / 3600.0
    return score + policy.urgency_per_hour * max(0.0, policy.horizon_hours - hours_until_due)


def display_priority(
    base: int,
    business_value: float,
    due_at: datetime | None,
    now: datetime,
    policy: PriorityPolicy = PriorityPolicy(),
) -> int:
    """priority_at rounded and clamped to 0..1000, for people and for events."""
    score = min(float(MAX_DISPLAY), max(float(MIN_DISPLAY), priority_at(base, business_value, due_at, now, policy)))
    return round(score)
