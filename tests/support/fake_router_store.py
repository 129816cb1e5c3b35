"""The router's Redis agent store in memory, for unit tests that feed the router service message by message."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from tests.support.fake_agents import FakeAgentStore
from tests.support.fakes import RecordingBus
from tests.support.routing import DOMAIN, Clock, config
from workrouter.adapters.redis_agent_ops import Read, Write
from workrouter.adapters.redis_agent_records import HoldKind, IdleClock, ReserveResult
from workrouter.bus.port import Delivery
from workrouter.config.routing import RoutingConfig
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import Presence
from workrouter.domain.routing.pull_index import IndexKey, every_place, member, placement
from workrouter.services.router.router import Router


class FakeRouterStore(FakeAgentStore):
    """FakeAgentStore plus what the router needs: holds that change kind or end, queue entries, notes."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[tuple[str, dict[str, Any]]] = []
        self.retirements: dict[str, dict[str, float]] = {}  # domain -> classification id -> when retired
        self.filed: dict[str, dict[IndexKey, dict[str, float]]] = {}  # domain -> the pull indexes the router keeps
        self.owners: dict[str, int] = {}  # domain -> takeovers
        self.given_at: dict[str, float] = {}  # agent -> when a reservation for it last succeeded
        self.freed_at: dict[str, float] = {}  # agent -> when a task of its last ended (a release with a time)

    async def reserve(
        self, agent_id: str, task_id: str, channel: str, kind: HoldKind, now: float, *, require_ready: bool = True
    ) -> ReserveResult:
        result = await super().reserve(agent_id, task_id, channel, kind, now, require_ready=require_ready)
        if result.ok:
            self.given_at[agent_id] = now
        return result

    async def idle_clocks(self, agent_ids: Sequence[str]) -> dict[str, IdleClock]:
        return {a: IdleClock(self.given_at.get(a), self.freed_at.get(a)) for a in agent_ids}

    async def convert(self, task_id: str, agent_id: str, kind: HoldKind) -> bool:
        held = self.holds.get(task_id)
        if held is None or held.agent_id != agent_id:
            return False
        self.holds[task_id] = held._replace(kind=kind)
        return True

    async def release(self, task_id: str, agent_id: str, freed_at: float | None = None) -> bool:
        held = self.holds.get(task_id)
        if held is None or held.agent_id != agent_id:
            return False
        if freed_at is not None:
            self.freed_at[agent_id] = freed_at
        del self.holds[task_id]
        load = self.loads.setdefault(agent_id, {})
        load[held.channel] = max(0, load.get(held.channel, 0) - 1)
        return True

    async def stale_agents(self, now: float, timeout_seconds: float) -> list[str]:
        return sorted(a for a, beat in self.heartbeats.items() if beat < now - timeout_seconds)

    async def save_task(self, domain: str, task_id: str, entry: dict[str, Any]) -> None:
        self.tasks.setdefault(domain, {})[task_id] = entry

    async def drop_task(self, domain: str, task_id: str) -> bool:
        return self.tasks.get(domain, {}).pop(task_id, None) is not None

    async def index_task(self, domain: str, entry: QueueEntry, pull: bool) -> None:
        for key, score in placement(entry, pull=pull):
            self.filed.setdefault(domain, {}).setdefault(key, {})[member(entry)] = score

    async def unindex_task(self, domain: str, entry: QueueEntry) -> None:
        for key in every_place(entry):
            self.filed.get(domain, {}).get(key, {}).pop(member(entry), None)

    async def reconcile_index(self, domain: str, filed: Mapping[str, tuple[QueueEntry, bool]]) -> tuple[int, int]:
        before = {(k, m) for k, members in self.filed.get(domain, {}).items() for m in members}
        self.filed[domain] = {}
        for entry, pull in filed.values():
            for key, score in placement(entry, pull=pull):
                self.filed[domain].setdefault(key, {})[member(entry)] = score
        after = {(k, m) for k, members in self.filed[domain].items() for m in members}
        return len(after - before), len(before - after)

    def indexes(self, domain: str) -> dict[IndexKey, dict[str, float]]:
        """The pull indexes as the router filed them."""
        return {key: members for key, members in self.filed.get(domain, {}).items() if members}

    async def retire(self, domain: str, classified_id: str, now: float, keep_seconds: float) -> None:
        kept = self.retirements.setdefault(domain, {})
        kept[classified_id] = now
        for old in [c for c, at in kept.items() if at < now - keep_seconds]:
            del kept[old]

    async def let_go(
        self,
        domain: str,
        task_id: str,
        agent_id: str,
        retire: tuple[str, float, float] | None,
        freed_at: float | None = None,
    ) -> bool:
        """As the Redis store's one transaction: all of it, or nothing if it raises (the only step a test makes
        fail, `drop_task`, goes first here)."""
        await self.drop_task(domain, task_id)
        if retire is not None:
            await self.retire(domain, *retire)
        return await self.release(task_id, agent_id, freed_at)

    async def take_over(self, domain: str) -> int:
        self.owners[domain] = self.owners.get(domain, 0) + 1
        return self.owners[domain]

    async def takeovers(self, domain: str) -> int:
        return self.owners.get(domain, 0)

    async def retired(self, domain: str, classified_id: str) -> bool:
        return classified_id in self.retirements.get(domain, {})

    async def retired_among(self, domain: str, classified_ids: Sequence[str]) -> set[str]:
        return {c for c in classified_ids if c in self.retirements.get(domain, {})}

    async def notify(self, agent_id: str, message: dict[str, Any]) -> None:
        self.notes.append((agent_id, message))

    async def apply(self, ops: Sequence[Write | Read]) -> list[Any]:
        """As the Redis store's one transaction: each op by its method, in order; the reads' answers."""
        answers: list[Any] = []
        for op in ops:
            if isinstance(op, Write):
                await getattr(self, op.op)(*op.args)
            elif op.op == "reserve":
                *args, require_ready = op.args
                answers.append(await self.reserve(*args, require_ready=require_ready))
            else:
                answers.append(await getattr(self, op.op)(*op.args))
        return answers


class MemoryRouter:
    """A router owning every domain, on the fake store and a recording bus, with a hand-set clock."""

    def __init__(self, router: Router, store: FakeRouterStore, bus: RecordingBus, clock: Clock) -> None:
        self.router, self.store, self.bus, self.clock = router, store, bus, clock
        self._offsets = itertools.count()

    async def send(self, envelope: Envelope) -> None:
        """Deliver one message on wr.routing."""
        await self.router.handle(envelope, Delivery("wr.routing", 0, next(self._offsets), DOMAIN, 1))

    async def presence(self, agent_id: str, presence: Presence, reason: str | None = None) -> None:
        """What the api does: presence into the store, then the command to the router."""
        await self.store.set_presence(agent_id, presence, reason, self.clock())
        payload = ac.ChangePresence(agent_id=agent_id, domain=DOMAIN, presence=presence.value, reason=reason)
        await self.send(make_event(payload, source="/test", key=DOMAIN))

    async def at(self, seconds_after_start: float, start: float) -> None:
        """Move the clock and fire the domain's due timers."""
        self.clock.now = start + seconds_after_start
        await self.router.tick(self.router.domains[DOMAIN])

    def events(self, kind: str) -> list[Any]:
        """Payloads published of one type (short name), in order."""
        return [e.data for _, e in self.bus.published if e.type.endswith("." + kind)]


@asynccontextmanager
async def memory_router(cfg: RoutingConfig | None = None, clock: Clock | None = None) -> AsyncIterator[MemoryRouter]:
    """A router in memory that owns every domain of `cfg` (by default tests.support.routing.config())."""
    store, bus, clock = FakeRouterStore(), RecordingBus(), clock or Clock()
    router = Router(cfg or config(), store, bus, TopicNames(), clock=clock)
    await router.on_assign(set(range(router.options.partitions)))
    try:
        yield MemoryRouter(router, store, bus, clock)
    finally:
        await router.close()
