"""What the router does to Redis and Kafka, held until it must happen and then done together.

The router's handlers are written as if each change happened at once: announce, then remember; reserve,
then announce. Done that way each message cost about ten round trips (six to Redis, two to four waits for
a broker's ack). Here a unit of work (one poll of a domain's messages, one timer step) only writes down
its announcements and its Redis writes, and a reservation with what to do once Redis answered it (offer,
or follow Redis's refusal). They are carried out when a question needs Redis's answer (who holds a task,
an agent's presence) and at the unit's end, in rounds until nothing is left:

1. every announcement held is sent, together, and all are acknowledged;
2. then every Redis write and reservation held, in the order made, in one pipeline (one round trip);
3. then each reservation's continuation runs (an offer's announcement, held for the next round).

A unit that offers costs two waits for acks and two Redis round trips, however many messages it had.

The order of the effects changes in one way only: an announcement may go out before Redis writes that
the handler made before it. That is the safe direction everywhere in the router (announce, then
remember): killed in between, the next owner finds Redis as it was, is given the messages again, and
announces the same facts under the same event ids. A reservation still comes before the offer it
allows, and a release before a reservation that needs its capacity (both in Redis's order). Until a
reservation is answered, nothing else about its task or agent may be decided: a message or effect that
names one (`touches`) carries out what is held first.

If a round fails, everything still held is dropped (never carried out later: writes would then remember
announcements that never went out) and `failed` is set: the engine has moved on from what Redis has, so the
router rebuilds the domain from Redis before its next unit of work, as after a crash, and the bus gives the
messages again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from workrouter.adapters.redis_agent_ops import Read, Write
from workrouter.adapters.redis_agent_records import (
    AgentSnapshot,
    Holder,
    HoldKind,
    IdleClock,
    PresenceState,
    ReserveResult,
)
from workrouter.bus.port import Bus
from workrouter.contracts.envelope import Envelope
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Presence


class AgentStore(Protocol):
    """What the router needs of the agent store: workrouter.adapters.redis_agents.RedisAgentStore, and in unit
    tests tests/support/fake_router_store.py; tests/contracts/agent_store_contract.py holds both to it."""

    async def apply(self, ops: Sequence[Write | Read]) -> list[Any]: ...
    async def put_profile(self, profile: AgentProfile) -> None: ...
    async def load_agents(self) -> list[AgentSnapshot]: ...
    async def load_tasks(self, domain: str) -> dict[str, dict[str, Any]]: ...
    async def holders(self, task_ids: Sequence[str]) -> dict[str, Holder]: ...
    async def retired_among(self, domain: str, classified_ids: Sequence[str]) -> set[str]: ...
    async def stale_agents(self, now: float, timeout_seconds: float) -> list[str]: ...
    async def take_over(self, domain: str) -> int: ...
    async def idle_clocks(self, agent_ids: Sequence[str]) -> dict[str, IdleClock]: ...
    async def takeovers(self, domain: str) -> int: ...
    async def reconcile_index(self, domain: str, filed: Mapping[str, tuple[QueueEntry, bool]]) -> tuple[int, int]: ...
    async def live_agents(self) -> dict[str, str]: ...
    async def live_agent(self, agent_id: str) -> str | None: ...
    async def put_live_view(self, domain: str, view: str, ttl_seconds: float) -> None: ...


Then = Callable[[ReserveResult], Awaitable[None]]


class Effects:
    """The agent store and the bus as a domain's handlers see them: writes, reservations and announcements
    held, questions answered after what is held is carried out (see the module's doc)."""

    def __init__(self, store: AgentStore, bus: Bus) -> None:
        self.store = store
        self.bus = bus
        self.announcements: list[tuple[str, Envelope]] = []
        self.ops: list[Write | Read] = []
        self.thens: list[Then] = []  # one per reservation among `ops`, in order
        self.unresolved: set[str] = set()  # task and agent ids of the reservations held
        self.failed = False  # a round failed: the domain must be rebuilt from Redis (see the module's doc)

    # carried out

    async def flush(self) -> None:
        """Carry out everything held, in rounds, until nothing is left (see the module's doc)."""
        while self.announcements or self.ops:
            await self._round(None)

    def touches(self, *keys: str | None) -> bool:
        """True when a held reservation is about one of these task or agent ids (flush before deciding)."""
        return not self.unresolved.isdisjoint(keys)

    async def _round(self, read: Read | None) -> Any:
        try:
            return await self._carry_out(read)
        except BaseException:
            self.failed = True
            self.announcements.clear()
            self.ops.clear()
            self.thens.clear()
            self.unresolved.clear()
            raise

    async def _carry_out(self, read: Read | None) -> Any:
        announcements, self.announcements = self.announcements, []
        if announcements:
            await self.bus.publish_all(announcements)
        ops, thens = self.ops, self.thens
        self.ops, self.thens = [], []
        self.unresolved.clear()
        if read is not None:
            ops.append(read)
        if not ops:
            return None
        answers = await self.store.apply(ops)
        for then, answer in zip(thens, answers, strict=False):
            await then(answer)
        return answers[-1] if read is not None else None

    # announcements (the bus the Announcer publishes on)

    async def publish(self, topic: str, event: Envelope) -> None:
        """Held until the next round."""
        self.announcements.append((topic, event))

    # writes and reservations, held

    def _hold(self, op: str, *args: Any) -> None:
        self.ops.append(Write(op, args))

    async def save_task(self, domain: str, task_id: str, entry: dict[str, Any]) -> None:
        self._hold("save_task", domain, task_id, entry)

    async def drop_task(self, domain: str, task_id: str) -> None:
        self._hold("drop_task", domain, task_id)

    async def index_task(self, domain: str, entry: QueueEntry, pull: bool) -> None:
        self._hold("index_task", domain, entry, pull)

    async def unindex_task(self, domain: str, entry: QueueEntry) -> None:
        self._hold("unindex_task", domain, entry)

    async def retire(self, domain: str, classified_id: str, now: float, keep_seconds: float) -> None:
        self._hold("retire", domain, classified_id, now, keep_seconds)

    async def convert(self, task_id: str, agent_id: str, kind: HoldKind) -> None:
        self._hold("convert", task_id, agent_id, kind)

    async def release(self, task_id: str, agent_id: str, freed_at: float | None = None) -> None:
        self._hold("release", task_id, agent_id, freed_at)

    async def let_go(
        self, domain: str, task_id: str, agent_id: str, retire: tuple[str, float, float] | None, freed_at: float
    ) -> None:
        self._hold("let_go", domain, task_id, agent_id, retire, freed_at)

    async def notify(self, agent_id: str, message: dict[str, Any]) -> None:
        self._hold("notify", agent_id, message)

    async def set_presence(self, agent_id: str, presence: Presence, reason: str | None, now: float) -> None:
        self._hold("set_presence", agent_id, presence, reason, now)

    async def reserve_then(
        self, agent_id: str, task_id: str, channel: str, kind: HoldKind, now: float, *, require_ready: bool, then: Then
    ) -> None:
        """Hold a reservation (RedisAgentStore.reserve); `then` gets Redis's answer when it is carried out.
        Anything held about the same agent or task is carried out first."""
        if self.touches(agent_id, task_id):
            await self.flush()
        self.ops.append(Read("reserve", (agent_id, task_id, channel, kind, now, require_ready)))
        self.thens.append(then)
        self.unresolved.update((agent_id, task_id))

    # questions: asked after everything held is carried out

    async def holder(self, task_id: str) -> Holder | None:
        result: Holder | None = await self._round(Read("holder", (task_id,)))
        return result

    async def held(self, agent_id: str) -> set[str]:
        result: set[str] = await self._round(Read("held", (agent_id,)))
        return result

    async def get_presence(self, agent_id: str) -> PresenceState:
        result: PresenceState = await self._round(Read("get_presence", (agent_id,)))
        return result

    async def retired(self, domain: str, classified_id: str) -> bool:
        result: bool = await self._round(Read("retired", (domain, classified_id)))
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

    async def idle_clocks(self, agent_ids: Sequence[str]) -> dict[str, IdleClock]:
        await self.flush()
        return await self.store.idle_clocks(agent_ids)

    async def reconcile_index(self, domain: str, filed: Mapping[str, tuple[QueueEntry, bool]]) -> tuple[int, int]:
        await self.flush()
        return await self.store.reconcile_index(domain, filed)

    async def live_agents(self) -> dict[str, str]:
        """The live agent directory's entries (config/live_agents.py), read at once."""
        return await self.store.live_agents()

    async def live_agent(self, agent_id: str) -> str | None:
        """One agent's entry in the live directory, read at once (nothing held touches the directory)."""
        return await self.store.live_agent(agent_id)
