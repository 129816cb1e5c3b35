"""What the router tells the world: task facts on `wr.tasks`, presence on `wr.agents`, notes to agents' inboxes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from workrouter.contracts.agent_commands import SyncAgent
from workrouter.contracts.agent_events import AgentPresenceChanged
from workrouter.contracts.agent_events import Presence as PresenceName
from workrouter.contracts.envelope import Payload, make_event
from workrouter.contracts.task_events import TaskEvent
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.holds import offer_id
from workrouter.services.router.effects import Effects

__all__ = ["Announcer", "at", "event_id", "offer_id"]

SOURCE = "/workrouter/router"
_IDS = uuid.UUID("0f6d2a44-3b8e-4d61-9c2a-5e7b1d3f8a10")  # event ids the router derives


def event_id(*parts: object) -> str:
    """A deterministic event id (a re-announcement after failover or redelivery repeats it)."""
    return str(uuid.uuid5(_IDS, "\x1f".join(str(p) for p in parts)))


def at(seconds: float) -> datetime:
    """Epoch seconds as an aware datetime."""
    return datetime.fromtimestamp(seconds, UTC)


class Announcer:
    """Publishes the router's facts for one routing domain (held with its other effects, `Effects`)."""

    def __init__(self, effects: Effects, topics: TopicNames, domain: str) -> None:
        self.bus = self.store = effects
        self.topics = topics
        self.domain = domain

    async def task(self, payload: TaskEvent, when: float, *, eid: str | None = None) -> None:
        """A task event on `wr.tasks`, keyed by the task."""
        envelope = make_event(
            payload, source=SOURCE, key=payload.task_id, subject=payload.task_id, time=at(when), event_id=eid
        )
        await self.bus.publish(self.topics.tasks, envelope)

    async def presence(self, agent_id: str, presence: PresenceName, reason: str | None, when: float, eid: str) -> None:
        """An agent's presence on `wr.agents`, keyed by the domain, and a note to the agent."""
        payload = AgentPresenceChanged(agent_id=agent_id, domain=self.domain, presence=presence, reason=reason)
        await self.bus.publish(self.topics.agents, self._envelope(payload, agent_id, when, eid))
        await self.note(agent_id, "presence", presence=presence, reason=reason)

    async def command(self, payload: Payload, key: str, when: float, eid: str) -> None:
        """A command to another service on `wr.tasks` (reclassify), keyed by the task."""
        envelope = make_event(payload, source=SOURCE, key=key, subject=key, time=at(when), event_id=eid)
        await self.bus.publish(self.topics.tasks, envelope)

    async def sync(self, agent_id: str, domain: str, when: float) -> None:
        """Tell `domain`'s router to read a blended agent again (decisions D21): on `wr.routing`, keyed by it."""
        payload = SyncAgent(agent_id=agent_id, domain=domain, from_domain=self.domain)
        envelope = make_event(payload, source=SOURCE, key=domain, subject=agent_id, time=at(when))
        await self.bus.publish(self.topics.routing, envelope)

    async def note(self, agent_id: str, event: str, entry: QueueEntry | None = None, **fields: Any) -> None:
        """A notification on the agent's inbox (its open event streams)."""
        message: dict[str, Any] = {"event": event, "domain": self.domain}
        if entry is not None:
            message.update(task_id=entry.task_id, queue=entry.queue, url=entry.url, title=entry.title)
        message.update(fields)
        await self.store.notify(agent_id, message)

    def _envelope(self, payload: Payload, subject: str, when: float, eid: str) -> Any:
        return make_event(payload, source=SOURCE, key=self.domain, subject=subject, time=at(when), event_id=eid)
