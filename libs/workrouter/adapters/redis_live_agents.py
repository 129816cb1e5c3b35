"""The live agent directory in Redis (config/live_agents.py): one hash of entries and a version counter.

Entries are kept as the JSON `config.live_agents.encode` makes; this adapter stores and reads them as text,
and the callers decode them.
"""

from __future__ import annotations

import redis.asyncio as redis

from workrouter.adapters.redis_agent_records import text
from workrouter.adapters.redis_keys import AgentKeys


class LiveDirectory:
    """The directory's reads and writes, and the domains' live views (a mixin of RedisAgentStore, whose client
    and keys it uses)."""

    _client: redis.Redis
    _keys: AgentKeys

    async def live_agents(self) -> dict[str, str]:
        """Every entry: agent id -> stored text."""
        raw = await self._client.hgetall(self._keys.live_agents)
        return {text(k): text(v) for k, v in raw.items()}

    async def live_agent(self, agent_id: str) -> str | None:
        """One agent's entry, or None when a supervisor never changed it."""
        value = await self._client.hget(self._keys.live_agents, agent_id)
        return None if value is None else text(value)

    async def put_live_agent(self, agent_id: str, entry: str) -> int:
        """Write one entry and bump the version, atomically; returns the new version."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.live_agents, agent_id, entry)
            pipe.incr(self._keys.live_version)
            _, version = await pipe.execute()
        return int(version)

    async def live_version(self) -> int:
        """The directory's version (0 before the first change)."""
        return int(await self._client.get(self._keys.live_version) or 0)

    async def put_live_view(self, domain: str, view: str, ttl_seconds: float) -> None:
        """A domain's live view for supervisors (services/router/live_view.py), expiring after `ttl_seconds`."""
        await self._client.set(self._keys.live_view(domain), view, px=int(ttl_seconds * 1000))

    async def live_views(self, domains: list[str]) -> dict[str, str | None]:
        """The live views of the domains (None where none is fresh), in one round trip."""
        if not domains:
            return {}
        values = await self._client.mget([self._keys.live_view(d) for d in domains])
        return {d: None if v is None else text(v) for d, v in zip(domains, values, strict=True)}
