"""What the agent API needs from the live store and from the agents' inboxes (RedisAgentStore, RedisInbox)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from workrouter.adapters.redis_agent_records import AgentSnapshot, Holder, HoldKind, PresenceState, ReserveResult
from workrouter.domain.routing.model import AgentProfile, Presence
from workrouter.domain.routing.pull_walk import Page


class AgentStore(Protocol):
    """Agent presence, load and task holders, and the router's queue entries (RedisAgentStore)."""

    async def put_profile(self, profile: AgentProfile) -> None:
        """Store (or replace) an agent's profile."""
        ...

    async def get_profile(self, agent_id: str) -> AgentProfile | None:
        """The agent's stored profile, or None."""
        ...

    async def set_presence(self, agent_id: str, presence: Presence, reason: str | None, now: float) -> int:
        """Set the presence; returns its version."""
        ...

    async def get_presence(self, agent_id: str) -> PresenceState:
        """(presence, reason, since, version)."""
        ...

    async def reserve(
        self, agent_id: str, task_id: str, channel: str, kind: HoldKind, now: float, *, require_ready: bool = True
    ) -> ReserveResult:
        """Atomically hold the task for the agent, or say why not."""
        ...

    async def holder(self, task_id: str) -> Holder | None:
        """Who holds the task, or None."""
        ...

    async def holders(self, task_ids: Iterable[str]) -> dict[str, Holder]:
        """The holders of those of the tasks that are held."""
        ...

    async def load(self, agent_id: str) -> dict[str, int]:
        """Channel -> tasks the agent holds on it."""
        ...

    async def held(self, agent_id: str) -> set[str]:
        """The ids of the tasks the agent holds."""
        ...

    async def heartbeat(self, agent_id: str, now: float) -> bool:
        """Record a heartbeat; False when the agent is offline."""
        ...

    async def get_task(self, domain: str, task_id: str) -> dict[str, Any] | None:
        """One queue entry (JSON), or None."""
        ...

    async def load_agents(self) -> list[AgentSnapshot]:
        """(profile, presence, load, held) of every agent with a profile."""
        ...

    async def index_classes(self, domain: str, queues: Sequence[str]) -> dict[str, set[str]]:
        """Each queue's skill classes in the domain's pull indexes, in one round trip."""
        ...

    async def index_pages(self, domain: str, pages: Sequence[Page]) -> list[list[tuple[str, float]]]:
        """(member, score) of each page of the domain's pull indexes, in one round trip."""
        ...

    async def entries_held(self, domain: str, task_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any] | None, bool]]:
        """task id -> (its entry or None, whether an agent holds it), in one round trip."""
        ...

    async def live_agents(self) -> dict[str, str]:
        """The live agent directory (config/live_agents.py): agent id -> stored entry."""
        ...

    async def live_agent(self, agent_id: str) -> str | None:
        """One agent's directory entry, or None when no supervisor changed it."""
        ...

    async def put_live_agent(self, agent_id: str, entry: str) -> int:
        """Write one directory entry; returns the directory's new version."""
        ...

    async def live_version(self) -> int:
        """The directory's version, bumped by every change."""
        ...

    async def live_views(self, domains: list[str]) -> dict[str, str | None]:
        """The routers' live views of the domains (None where none is fresh)."""
        ...


class Subscription(Protocol):
    """An open subscription to one agent's inbox."""

    async def get(self, wait_seconds: float) -> dict[str, Any] | None:
        """The next notification, or None when none came within `wait_seconds`."""
        ...


class Inbox(Protocol):
    """Live notifications to an agent's open event streams."""

    def subscribe(self, agent_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to the agent's inbox; the subscription is live once entered, and dropped on exit."""
        ...
