"""What the router does to Redis and Kafka, held until it must happen and then done together.

The router's handlers are written as if each change happened at once: announce, then remember; reserve,
then announce. Done that way each message cost about ten round trips (six to Redis, two to four waits for
a broker's ack). Here a unit of work (one message, one poll of them, one timer step) only writes down
its announcements and its Redis writes. They are carried out when something needs an answer from Redis
(a reservation, who holds a task, an agent's presence), and at the unit's end:

1. every announcement held is sent, together, and all are acknowledged;
2. then every Redis write held, in the order made, and the question asked, in one MULTI/EXEC.

So a unit costs one wait for acks and one Redis round trip per question plus one at its end, whatever it
changes. The order of the effects only changes in one way: an announcement may go out before Redis writes
that the handler made before it. That is the safe direction everywhere in the router (announce, then
remember): killed in between, the next owner finds Redis as it was, is given the messages again, and
announces the same facts under the same event ids. A reservation still comes before the offer it allows,
and a release before a reservation that needs its capacity (both in Redis's order).

If carrying them out fails, what was held is gone while the engine already moved on: the domain is then
rebuilt from Redis before its next message, as after a crash (`Router`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from workrouter.adapters.redis_agents import (
    AgentSnapshot,
    Holder,
    HoldKind,
    PresenceState,
    Read,
    ReserveResult,
    Write,
)
from workrouter.bus.port import Bus
from workrouter.contracts.envelope import Envelope
from workrouter.domain.routing.model import AgentProfile, Presence


class AgentStore(Protocol):
    """What the router needs of the agent store (workrouter.adapters.redis_agents.RedisAgentStore)."""

    async def apply(self, writes: Sequence[Write], read: Read | None = None) -> Any: ...
    async def put_profile(self, profile: AgentProfile) -> None: ...
    async def load_agents(self) -> list[AgentSnapshot]: ...
    async def load_tasks(self, domain: str) -> dict[str, dict[str, Any]]: ...
    async def holders(self, task_ids: Sequence[str]) -> dict[str, Holder]: ...
    async def retired_among(self, domain: str, classified_ids: Sequence[str]) -> set[str]: ...
    async def stale_agents(self, now: float, timeout_seconds: float) -> list[str]: ...


class Effects:
    """The agent store and the bus as a domain's handlers see them: writes and announcements held, questions
    answered after what is held is carried out (see the module's doc)."""

    def __init__(self, store: AgentStore, bus: Bus) -> None:
        self.store = store
        self.bus = bus
        self.announcements: list[tuple[str, Envelope]] = []
        self.writes: list[Write] = []

    # carried out

    async def flush(self) -> None:
        """Carry out everything held: announcements first (acknowledged), then the Redis writes."""
        await self._ask(None)

    @property
    def pending(self) -> bool:
        """Something is held."""
        return bool(self.announcements or self.writes)

    def discard(self) -> None:
        """Forget what is held (carrying it out failed: the domain is rebuilt from Redis)."""
        self.announcements.clear()
        self.writes.clear()

    async def _ask(self, read: Read | None) -> Any:
        announcements, self.announcements = self.announcements, []
        if announcements:
            await self.bus.publish_all(announcements)
        writes, self.writes = self.writes, []
        if writes or read is not None:
            return await self.store.apply(writes, read)
        return None

    # announcements (the bus the Announcer publishes on)

    async def publish(self, topic: str, event: Envelope) -> None:
        """Held until the unit's end or the next question to Redis."""
        self.announcements.append((topic, event))

    # writes, held

    def _hold(self, op: str, *args: Any) -> None:
        self.writes.append(Write(op, args))

    async def save_task(self, domain: str, task_id: str, entry: dict[str, Any]) -> None:
        self._hold("save_task", domain, task_id, entry)

    async def drop_task(self, domain: str, task_id: str) -> None:
        self._hold("drop_task", domain, task_id)

    async def retire(self, domain: str, classified_id: str, now: float, keep_seconds: float) -> None:
        self._hold("retire", domain, classified_id, now, keep_seconds)

    async def convert(self, task_id: str, agent_id: str, kind: HoldKind) -> None:
        self._hold("convert", task_id, agent_id, kind)

    async def release(self, task_id: str, agent_id: str) -> None:
        self._hold("release", task_id, agent_id)

    async def let_go(self, domain: str, task_id: str, agent_id: str, retire: tuple[str, float, float] | None) -> None:
        self._hold("let_go", domain, task_id, agent_id, retire)

    async def notify(self, agent_id: str, message: dict[str, Any]) -> None:
        self._hold("notify", agent_id, message)

    async def set_presence(self, agent_id: str, presence: Presence, reason: str | None, now: float) -> None:
        self._hold("set_presence", agent_id, presence, reason, now)

    # questions: asked after everything held is carried out

    async def reserve(
        self, agent_id: str, task_id: str, channel: str, kind: HoldKind, now: float, *, require_ready: bool = True
    ) -> ReserveResult:
        result: ReserveResult = await self._ask(Read("reserve", (agent_id, task_id, channel, kind, now, require_ready)))
        return result

    async def holder(self, task_id: str) -> Holder | None:
        result: Holder | None = await self._ask(Read("holder", (task_id,)))
        return result

    async def held(self, agent_id: str) -> set[str]:
        result: set[str] = await self._ask(Read("held", (agent_id,)))
        return result

    async def get_presence(self, agent_id: str) -> PresenceState:
        result: PresenceState = await self._ask(Read("get_presence", (agent_id,)))
        return result

    async def retired(self, domain: str, classified_id: str) -> bool:
        result: bool = await self._ask(Read("retired", (domain, classified_id)))
        return result

    # a takeover's reads (after everything held)

    async def put_profile(self, profile: AgentProfile) -> None:
        await self.flush()
        await self.store.put_profile(profile)

    async def load_agents(self) -> list[AgentSnapshot]:
        await self.flush()
        return await self.store.load_agents()

    async def load_tasks(self, domain: str) -> dict[str, dict[str, Any]]:
        await self.flush()
        return await self.store.load_tasks(domain)

    async def holders(self, task_ids: Sequence[str]) -> dict[str, Holder]:
        await self.flush()
        return await self.store.holders(task_ids)

    async def retired_among(self, domain: str, classified_ids: Sequence[str]) -> set[str]:
        await self.flush()
        return await self.store.retired_among(domain, classified_ids)
