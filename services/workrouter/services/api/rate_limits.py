"""Rate limits per source system, per agent or supervisor, and per sign-in name: 429 with Retry-After."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from workrouter.adapters.rate_limiters import MemoryRateLimiter
from workrouter.domain.rate_limit import RateRule, retry_after_header
from workrouter.ports.rate_limiter import RateLimiter
from workrouter.services.api.errors import HttpError, problem

Kind = Literal["source", "agent", "sign_in"]
UNLIMITED = RateRule(0.0, 0)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateRules:
    """The rule for each kind of caller; the defaults limit nothing (the api process sets them from WR_RATE_*)."""

    source: RateRule = UNLIMITED
    agent: RateRule = UNLIMITED
    sign_in: RateRule = UNLIMITED


@dataclass
class RateLimits:
    """Counts each authenticated request (and each sign-in attempt) against its caller's bucket."""

    rules: RateRules = field(default_factory=RateRules)
    limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    clock: Callable[[], float] = time.time

    async def check(self, kind: Kind, name: str) -> None:
        """Count one request of `name`; 429 with Retry-After when its bucket is empty."""
        rule: RateRule = getattr(self.rules, kind)
        wait = await self.limiter.hit(f"{kind}:{name}", rule, self.clock())
        if wait > 0:
            log.info("rate limit: %s %r must wait %.2f s", kind, name, wait)
            who = "sign-in attempts for this name" if kind == "sign_in" else f"this {kind}'s requests"
            response = problem(429, f"too many requests: {who} exceed {rule.per_second:g}/s; retry later")
            response.headers["Retry-After"] = retry_after_header(wait)
            raise HttpError(response)
