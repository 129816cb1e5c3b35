"""Token buckets: how many requests a caller may make now, and how long to wait when it may not."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateRule:
    """A sustained rate (requests per second) and a burst (the bucket's size); a rate of 0 means no limit."""

    per_second: float
    burst: int

    @property
    def unlimited(self) -> bool:
        """True when the rule limits nothing."""
        return self.per_second <= 0

    def seconds_to_full(self) -> float:
        """How long an empty bucket takes to fill (its key may expire after that)."""
        return self.burst / self.per_second


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tokens left and when they were counted (epoch seconds)."""

    tokens: float
    at: float


def take(bucket: Bucket | None, rule: RateRule, now: float, cost: float = 1.0) -> tuple[Bucket, float]:
    """Take `cost` tokens: the new bucket and 0.0, or the bucket unchanged but refilled and the seconds to wait.

    A missing bucket is full. The clock going backwards refills nothing. The same arithmetic runs in
    `adapters/lua/rate.lua`, so processes sharing Redis share buckets."""
    if bucket is None:
        tokens = float(rule.burst)
    else:
        tokens = min(float(rule.burst), bucket.tokens + max(0.0, now - bucket.at) * rule.per_second)
    if tokens >= cost:
        return Bucket(tokens - cost, now), 0.0
    return Bucket(tokens, now), (cost - tokens) / rule.per_second


def retry_after_header(wait: float) -> str:
    """The Retry-After value (whole seconds, at least 1) for a wait."""
    return str(max(1, math.ceil(wait)))
