"""Rate limiter adapters: token buckets in Redis (one Lua script, one round trip) or in this process."""

from __future__ import annotations

from importlib.resources import files

import redis.asyncio as redis

from workrouter.domain.rate_limit import Bucket, RateRule, take

MAX_MEMORY_BUCKETS = 10_000


class RedisRateLimiter:
    """Token buckets as hashes `{prefix}:rate:<key>` (tokens, at), expiring once full again."""

    def __init__(self, client: redis.Redis, prefix: str = "wr") -> None:
        self._prefix = prefix
        self._take = client.register_script(
            files("workrouter.adapters").joinpath("lua", "rate.lua").read_text(encoding="utf-8")
        )

    async def hit(self, key: str, rule: RateRule, now: float) -> float:
        """0.0 when taken, else the seconds to wait; one EVALSHA."""
        if rule.unlimited:
            return 0.0
        args = [repr(rule.per_second), str(rule.burst), repr(now), "1"]
        wait = await self._take(keys=[f"{self._prefix}:rate:{key}"], args=args)
        return float(wait.decode() if isinstance(wait, bytes) else wait)


class MemoryRateLimiter:
    """Token buckets in a dict: for one process alone (the api without Redis) and unit tests."""

    def __init__(self) -> None:
        self.buckets: dict[str, Bucket] = {}

    async def hit(self, key: str, rule: RateRule, now: float) -> float:
        """0.0 when taken, else the seconds to wait."""
        if rule.unlimited:
            return 0.0
        if len(self.buckets) >= MAX_MEMORY_BUCKETS:  # keys can be made up (sign-in names): drop the full ones
            full = rule.seconds_to_full()
            self.buckets = {k: b for k, b in self.buckets.items() if now - b.at < full}
        self.buckets[key], wait = take(self.buckets.get(key), rule, now)
        return wait
