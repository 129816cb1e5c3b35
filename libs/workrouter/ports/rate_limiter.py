"""Counting requests against a rate: one bucket per key, shared by every process that shares the backend."""

from __future__ import annotations

from typing import Protocol

from workrouter.domain.rate_limit import RateRule


class RateLimiter(Protocol):
    """Takes one request from a key's token bucket."""

    async def hit(self, key: str, rule: RateRule, now: float) -> float:
        """0.0 when the request may go ahead (and is counted), else the seconds until it may."""
        ...
