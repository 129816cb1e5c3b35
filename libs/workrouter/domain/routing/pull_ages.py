"""A queue's tiers at one moment as enqueue-time thresholds, to tell a member's tier from its first digits (pure).

A walk over the pull indexes meets thousands of members whose tier only their age decides. Rather than
decode each member's enqueue time and run entry.tier_since, it compares the member's first 16 digits
(pull_index.sortable of the enqueue time) with the latest enqueue time that reaches each tier at `now`.
Those thresholds are found on the floats entry.tier_since adds, so the answer is exactly tier_since's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from workrouter.domain.routing.entry import tier_since
from workrouter.domain.routing.model import QueuePolicy
from workrouter.domain.routing.pull_index import sortable, unsortable

PREFERRED_PHASE = -1
_STEPS = 64  # nextafter steps from the estimate at most (one or two are ever needed)


class TierAges:
    """The tier of a task of `policy` at `now`, from the sortable digits of its enqueue time."""

    __slots__ = ("_args", "_phase", "_tiers")

    def __init__(self, policy: QueuePolicy, now: float, *, preferred: bool) -> None:
        self._args = (preferred, policy, now)
        lead = policy.preferred_seconds if preferred else 0.0
        # as tier_since: start = enqueued_at + lead; the tier is the last whose start + after_seconds <= now
        self._phase = _latest(lambda x: not now < x + lead, now - lead)
        tiers = [
            _latest(_reaches(now, lead, step.after_seconds), now - lead - step.after_seconds) for step in policy.tiers
        ]
        self._tiers: list[str] | None = None if None in tiers else [t for t in tiers if t is not None]

    def tier(self, digits: str) -> int:
        """The tier (PREFERRED_PHASE while only preferred agents may take it) of a task enqueued at the time
        `digits` encode (pull_index.sortable)."""
        tiers = self._tiers
        if tiers is None or self._phase is None:  # thresholds not found: the slow way
            preferred, policy, now = self._args
            return tier_since(unsortable(digits), preferred, policy, now)
        if digits > self._phase:
            return PREFERRED_PHASE
        for index in range(len(tiers) - 1, 0, -1):
            if digits <= tiers[index]:
                return index
        return 0


def _reaches(now: float, lead: float, after: float) -> Callable[[float], bool]:
    """Whether a task enqueued at x has reached the tier starting `after` seconds in, as tier_since adds."""
    return lambda x: now >= (x + lead) + after


def _latest(reaches: Callable[[float], bool], estimate: float) -> str | None:
    """sortable() of the latest float x for which `reaches(x)` (true for every earlier x, false for every
    later one), searched for near `estimate`; None when it is not near."""
    x = estimate
    if not math.isfinite(x):
        return None
    for _ in range(_STEPS):
        if reaches(x):
            break
        x = math.nextafter(x, -math.inf)
    else:
        return None
    for _ in range(_STEPS):
        later = math.nextafter(x, math.inf)
        if not reaches(later):
            return sortable(x)
        x = later
    return None
