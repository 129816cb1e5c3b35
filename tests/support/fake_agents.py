"""In-memory stand-ins for the Redis agent store and the agents' inboxes, for unit tests of the agent API.

They follow RedisAgentStore's documented rules (refusal order, channel_free, heartbeats only while
online); the integration tests run the same API on real Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from workrouter.adapters.redis_agent_records import (
    NO_PRESENCE,
    AgentSnapshot,
    Holder,
    HoldKind,
    PresenceState,
    ReserveResult,
)
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Presence, channel_free
from workrouter.domain.routing.pull_index import STATIC, IndexKey, member, placement
from workrouter.domain.routing.pull_walk import Page


class FakeAgentStore:
    """The AgentStore port in memory."""

    def __init__(self) -> None:
        self.profiles: dict[str, AgentProfile] = {}
        self.presence: dict[str, PresenceState] = {}
        self.loads: dict[str, dict[str, int]] = {}
        self.holds: dict[str, Holder] = {}
        self.heartbeats: dict[str, float] = {}
        self.tasks: dict[str, dict[str, dict[str, Any]]] = {}
        self.live: dict[str, str] = {}  # the live agent directory: agent id -> stored text
        self.live_v = 0
        self.views: dict[str, str] = {}  # domain -> its router's live view (expiry not modelled)

    # set-up helpers for tests

    def queue(self, entry: QueueEntry) -> None:
        """Put a queue entry in its domain, as the router does."""
        self.tasks.setdefault(entry.domain, {})[entry.task_id] = entry.to_json()

    # the port

    async def put_profile(self, profile: AgentProfile) -> None:
        self.profiles[profile.agent_id] = profile

    async def get_profile(self, agent_id: str) -> AgentProfile | None:
        return self.profiles.get(agent_id)

    async def set_presence(self, agent_id: str, presence: Presence, reason: str | None, now: float) -> int:
        old = self.presence.get(agent_id, NO_PRESENCE)
        if (old.presence, old.reason) == (presence, reason) and old.version:
            return old.version
        self.presence[agent_id] = PresenceState(presence, reason, now, old.version + 1)
        if presence is Presence.OFFLINE:
            self.heartbeats.pop(agent_id, None)
        else:
            self.heartbeats.setdefault(agent_id, now)
        return old.version + 1

    async def get_presence(self, agent_id: str) -> PresenceState:
        return self.presence.get(agent_id, NO_PRESENCE)

    async def reserve(
        self, agent_id: str, task_id: str, channel: str, kind: HoldKind, now: float, *, require_ready: bool = True
    ) -> ReserveResult:
        profile = self.profiles.get(agent_id)
        if profile is None:
            return ReserveResult.UNKNOWN_AGENT
        if task_id in self.holds:
            return ReserveResult.TAKEN
        if require_ready and self.presence.get(agent_id, NO_PRESENCE).presence is not Presence.READY:
            return ReserveResult.NOT_READY
        load = self.loads.setdefault(agent_id, {})
        if not channel_free(profile, load, channel):
            return ReserveResult.NO_CAPACITY
        load[channel] = load.get(channel, 0) + 1
        self.holds[task_id] = Holder(agent_id, channel, kind, now)
        return ReserveResult.OK

    async def holder(self, task_id: str) -> Holder | None:
        return self.holds.get(task_id)

    async def holders(self, task_ids: Iterable[str]) -> dict[str, Holder]:
        return {t: self.holds[t] for t in task_ids if t in self.holds}

    async def load(self, agent_id: str) -> dict[str, int]:
        return {ch: n for ch, n in self.loads.get(agent_id, {}).items() if n}

    async def held(self, agent_id: str) -> set[str]:
        return {t for t, h in self.holds.items() if h.agent_id == agent_id}

    async def heartbeat(self, agent_id: str, now: float) -> bool:
        if agent_id not in self.heartbeats:
            return False
        self.heartbeats[agent_id] = max(self.heartbeats[agent_id], now)
        return True

    async def get_task(self, domain: str, task_id: str) -> dict[str, Any] | None:
        return self.tasks.get(domain, {}).get(task_id)

    async def load_tasks(self, domain: str) -> dict[str, dict[str, Any]]:
        return dict(self.tasks.get(domain, {}))

    async def load_agents(self) -> list[AgentSnapshot]:
        return [
            (p, self.presence.get(a, NO_PRESENCE), await self.load(a), await self.held(a))
            for a, p in sorted(self.profiles.items())
        ]

    # the pull indexes: Redis's sorted sets, ordered by (score, member) as Redis orders them

    def indexes(self, domain: str) -> dict[IndexKey, dict[str, float]]:
        """The domain's pull indexes: here every readable entry filed as in a pull queue, worked out from the
        entries on each read (so a test may change an entry in place); the router's store keeps its own."""
        filed: dict[IndexKey, dict[str, float]] = {}
        for raw in self.tasks.get(domain, {}).values():
            try:
                entry = QueueEntry.from_json(dict(raw))
            except (KeyError, TypeError, ValueError):
                continue
            for key, score in placement(entry, pull=True):
                filed.setdefault(key, {})[member(entry)] = score
        return filed

    async def index_classes(self, domain: str, queues: Sequence[str]) -> dict[str, set[str]]:
        indexes = self.indexes(domain)
        return {q: {k.skills for k in indexes if k.name == q and k.kind == STATIC} for q in queues}

    async def index_pages(self, domain: str, pages: Sequence[Page]) -> list[list[tuple[str, float]]]:
        indexes = self.indexes(domain)
        out: list[list[tuple[str, float]]] = []
        for page in pages:
            ranked = sorted(indexes.get(page.key, {}).items(), key=lambda item: (item[1], item[0].encode()))
            out.append([(m, score) for m, score in ranked[page.start : page.start + page.count]])
        return out

    async def entries_held(self, domain: str, task_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any] | None, bool]]:
        entries = self.tasks.get(domain, {})
        return {t: (entries.get(t), t in self.holds) for t in task_ids}

    # the live agent directory

    async def live_agents(self) -> dict[str, str]:
        return dict(self.live)

    async def live_agent(self, agent_id: str) -> str | None:
        return self.live.get(agent_id)

    async def put_live_agent(self, agent_id: str, entry: str) -> int:
        self.live[agent_id] = entry
        self.live_v += 1
        return self.live_v

    async def live_version(self) -> int:
        return self.live_v

    async def put_live_view(self, domain: str, view: str, ttl_seconds: float) -> None:
        self.views[domain] = view

    async def live_views(self, domains: list[str]) -> dict[str, str | None]:
        return {d: self.views.get(d) for d in domains}


class FakeSubscription:
    """One open subscription: a queue of notifications."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def get(self, wait_seconds: float) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self.messages.get(), max(wait_seconds, 0.0))
        except TimeoutError:
            return None


class FakeInbox:
    """The Inbox port in memory: `notify` reaches the agent's open subscriptions, like Redis pub/sub."""

    def __init__(self) -> None:
        self.open: dict[str, list[FakeSubscription]] = {}

    @asynccontextmanager
    async def subscribe(self, agent_id: str) -> AsyncIterator[FakeSubscription]:
        subscription = FakeSubscription()
        self.open.setdefault(agent_id, []).append(subscription)
        try:
            yield subscription
        finally:
            self.open[agent_id].remove(subscription)

    def notify(self, agent_id: str, message: dict[str, Any]) -> None:
        for subscription in self.open.get(agent_id, []):
            subscription.messages.put_nowait(message)
