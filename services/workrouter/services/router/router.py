"""The router process's core: which domains it owns, one lock and one timer loop per domain, dispatch.

Ownership follows Kafka: the router owns the domains whose `wr.routing` partition its consumer is
assigned (the domain is the message key). On assignment it rebuilds each new domain from Redis
before any of its messages are handled; on revocation it lets the running handler finish and sets
the domain aside. Kafka's rebalances are eager (every partition is revoked, then the new set
assigned), so a router keeps most of its domains through a rebalance: a domain assigned back is
resumed as it was, without a rebuild, when Redis's takeover count says no other router took it
over meanwhile (`{p}:owner:<domain>`, counted by every rebuild); otherwise it is rebuilt. Redis
reservations keep two owners that overlap during a rebalance from ever holding one task twice. A
heartbeat sweep sets agents whose api stream went silent offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workrouter.bus.partitioning import partition_for
from workrouter.bus.port import BatchBus, Bus, Delivery, PermanentError
from workrouter.config import live_agents
from workrouter.config.routing import RoutingConfig
from workrouter.contracts import agent_commands as ac
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, Payload
from workrouter.contracts.topics import ROUTING, TopicNames
from workrouter.domain.routing.model import Presence
from workrouter.runtime.loops import Backoff, sleep_until_poked, stop_if_cancelled
from workrouter.services.router.announce import Announcer, event_id
from workrouter.services.router.carry_out import KEEP_RETIRED_SECONDS, ended_id
from workrouter.services.router.commands import DomainRouter
from workrouter.services.router.effects import AgentStore, Effects
from workrouter.services.router.live_view import live_view
from workrouter.services.router.rebuild import Rebuilt, rebuild

log = logging.getLogger(__name__)
Clock = Callable[[], float]
Act = Callable[[DomainRouter, Any, Envelope, float], Awaitable[None]]
COMMANDS: dict[type[Payload], Act] = {  # what the domain's state does with each message type
    te.TaskClassified: DomainRouter.classified,
    ac.ChangePresence: DomainRouter.presence,
    ac.AnswerOffer: DomainRouter.answer,
    ac.FinishTask: DomainRouter.finish,
    ac.HandBackTask: DomainRouter.hand_back,
    ac.TaskClaimed: DomainRouter.claimed,
    ac.StartTask: DomainRouter.started,
    ac.SupervisorAssign: DomainRouter.supervise,
    ac.SyncAgent: DomainRouter.sync,
    ac.ChangeAgent: DomainRouter.change_agent,
}


@dataclass(frozen=True, slots=True)
class RouterOptions:
    """Tuning of one router process."""

    partitions: int = ROUTING.partitions  # of `wr.routing`: which partition carries which domain
    heartbeat_timeout_seconds: float = 30.0  # agents silent this long go offline
    sweep_seconds: float = 5.0  # how often to look for them
    max_timer_sleep_seconds: float = 1.0
    keep_retired_seconds: float = KEEP_RETIRED_SECONDS  # a redelivered classification this old counts as new
    live_seconds: float = 1.0  # how often each domain's live view for supervisors is written (live_view.py)


class Router:
    """Owns routing domains and handles their messages; time comes from `clock`."""

    def __init__(
        self,
        config: RoutingConfig,
        store: AgentStore,
        bus: Bus,
        topics: TopicNames,
        *,
        clock: Clock = time.time,
        options: RouterOptions | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.bus = bus
        self.topics = topics
        self.clock = clock
        self.options = options or RouterOptions()
        self.domains: dict[str, DomainRouter] = {}
        self.rebuilt: list[Rebuilt] = []
        self.resumed: list[str] = []  # domains assigned back after a rebalance and kept without a rebuild
        self._set_aside: dict[str, DomainRouter] = {}  # revoked; kept until the next assignment says
        self._takeovers: dict[str, int] = {}  # domain -> the takeover count of this router's rebuild
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._shown: dict[str, float] = {}  # domain -> when its live view was last written

    def subscribe(self, bus: BatchBus, group: str) -> None:
        """Consume `wr.routing` in `group` a poll at a time (as soon as it arrives: the path to an offer), with
        ownership following partition assignment."""
        bus.subscribe_batch(
            self.topics.routing, group, self.handle_poll, max_wait_ms=0, on_assign=self.on_assign,
            on_revoke=self.on_revoke,
        )  # fmt: skip

    def domain_partition(self, domain: str) -> int:
        """The `wr.routing` partition that carries the domain."""
        return partition_for(domain, self.options.partitions)

    async def on_assign(self, partitions: set[int]) -> None:
        """Take over every configured domain carried by the new partitions: resume one set aside at the last
        revocation if nobody took it over meanwhile, else rebuild it from Redis."""
        set_aside, self._set_aside = self._set_aside, {}
        for domain in sorted(self.config.domains()):
            if domain in self.domains or self.domain_partition(domain) not in partitions:
                continue
            kept = set_aside.pop(domain, None)
            if kept is None or not await self._resume(kept):
                state = self._new_state(domain)
                async with state.lock:  # registered only once rebuilt: a failed rebuild is retried from scratch
                    await self._rebuild(state)
            self._loops[domain] = asyncio.create_task(self._timers(domain), name=f"router-timers-{domain}")
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="router-heartbeat-sweep")

    def _new_state(self, domain: str) -> DomainRouter:
        effects = Effects(self.store, self.bus)
        announcer = Announcer(effects, self.topics, domain)
        keep = self.options.keep_retired_seconds
        return DomainRouter(domain, self.config, effects, announcer, keep_retired_seconds=keep)

    async def _resume(self, state: DomainRouter) -> bool:
        """Make a domain set aside at a revocation the domain's again, as it was, if it is sound and no other
        router has taken it over since this one rebuilt it; False when it must be rebuilt instead."""
        async with state.lock:
            if state.store.failed or await self.store.takeovers(state.domain) != self._takeovers.get(state.domain):
                return False
            self.domains[state.domain] = state
        self.resumed.append(state.domain)
        log.info("%s: kept through the rebalance (nobody took it over meanwhile)", state.domain)
        return True

    async def _rebuild(self, state: DomainRouter) -> None:
        """Load the domain into `state` from Redis and make it the domain's (its lock held)."""
        self._takeovers[state.domain] = await self.store.take_over(state.domain)
        now = self.clock()
        directory = live_agents.decode(await self.store.live_agents())  # what supervisors changed live
        state.apply_directory({a: None if e is None else e.to_profile(a) for a, e in directory.items()})
        self.rebuilt.append(await rebuild(state, now))
        for agent_id in state.others:  # what the last owner changed and had not told the other domains yet
            state.changed_agent(agent_id, now)
        await state.settle()
        self.domains[state.domain] = state

    async def _sound(self, state: DomainRouter) -> DomainRouter:
        """The domain's state to work on (its lock held): rebuilt from Redis first if a unit of work on it
        failed part-way (Effects.failed), as after a crash; the new state shares the lock."""
        if not state.store.failed:
            return state
        log.warning("%s: a unit of work failed part-way; rebuilding the domain from Redis", state.domain)
        fresh = self._new_state(state.domain)
        fresh.lock = state.lock
        await self._rebuild(fresh)
        return fresh

    async def on_revoke(self, partitions: set[int]) -> None:
        """Give up the domains of the revoked partitions (after their running handler finishes), setting their
        state aside until the next assignment says whether they come back."""
        for domain in [d for d in self.domains if self.domain_partition(d) in partitions]:
            state = self.domains[domain]
            async with state.lock:
                del self.domains[domain]
                await _cancel(self._loops.pop(domain, None))
            self._set_aside[domain] = state
            log.info("%s: given up (partition revoked)", domain)

    async def close(self) -> None:
        """Stop the timer loops and the sweep."""
        await _cancel(self._sweeper)
        self._sweeper = None
        for domain in list(self._loops):
            await _cancel(self._loops.pop(domain))
        self.domains.clear()
        self._set_aside.clear()

    async def handle(self, envelope: Envelope, delivery: Delivery) -> None:
        """One `wr.routing` message, as a poll of one."""
        await self.handle_poll([(envelope, delivery)])

    async def handle_poll(self, batch: Sequence[tuple[Envelope, Delivery]]) -> None:
        """One poll of `wr.routing`: each domain's messages in order, under the domain's lock, as one unit of
        work whose Redis writes and announcements are carried out together at its end (`Effects`).

        If one fails, what the messages before it did is carried out, as it would have been one message at a
        time; the bus then gives the poll again (the router's handlers know what they did already), and at
        last each message alone, so that only the failing one is dead-lettered."""
        by_domain: dict[str, list[tuple[Envelope, Delivery]]] = {}
        for envelope, delivery in batch:
            by_domain.setdefault(envelope.partitionkey, []).append((envelope, delivery))
        for domain, messages in by_domain.items():
            async with self._unit(self._owner_of(domain, messages[0][1])) as state:
                classified = [(e.id, e.data.task_id) for e, _ in messages if isinstance(e.data, te.TaskClassified)]
                await state.ask_retired([i for i, _ in classified] + [ended_id(t) for _, t in classified])
                for envelope, _ in messages:
                    data = envelope.data
                    if state.store.touches(getattr(data, "task_id", None), getattr(data, "agent_id", None)):
                        await state.store.flush()  # a reservation about it is not answered yet
                    await self._dispatch(state, envelope, self.clock())

    @contextlib.asynccontextmanager
    async def _unit(self, state: DomainRouter) -> AsyncIterator[DomainRouter]:
        """One unit of work on a domain: under its lock, on a sound state (`_sound`), settled at the end.

        What the work did before an error is carried out, as it would have been step by step. An error other
        than a refusal (PermanentError, raised before anything changes) may have left the engine half way:
        the domain is rebuilt from Redis before its next unit."""
        async with state.lock:
            state = await self._sound(state)
            try:
                yield state
            except PermanentError:
                raise
            except BaseException:
                state.store.failed = True
                raise
            finally:
                await state.settle()

    def _owner_of(self, domain: str, delivery: Delivery) -> DomainRouter:
        state = self.domains.get(domain)
        if state is not None:
            return state
        if domain in self.config.domains():
            raise RuntimeError(f"domain {domain!r} is not owned by this router yet (partition {delivery.partition})")
        raise PermanentError(f"unknown routing domain {domain!r}; known: {', '.join(sorted(self.config.domains()))}")

    async def _dispatch(self, state: DomainRouter, envelope: Envelope, now: float) -> None:
        data = envelope.data
        if isinstance(data, ac.AgentCommand) and data.domain != state.domain:
            raise PermanentError(f"command for domain {data.domain!r} arrived keyed {state.domain!r}")
        if isinstance(data, te.OUT_OF_ROUTING):
            why, ended = (
                envelope.type.rsplit(".", 1)[-1],
                isinstance(data, te.TaskCompleted | te.TaskCancelled | te.TaskExpired),
            )
            await state.withdraw(data.task_id, why, now, event_id(envelope.id, "unassigned"), ended=ended)
            return
        act = COMMANDS.get(type(data))
        if act is None:
            raise PermanentError(f"the router does not handle {envelope.type} on {self.topics.routing}")
        await act(state, data, envelope, now)

    async def _timers(self, domain: str) -> None:
        """Fire the domain's timers (tier widening, offer and claim timeouts, after-work) when due."""
        backoff = Backoff()
        while (state := self.domains.get(domain)) is not None:  # the current state: a rebuild replaces it
            stop_if_cancelled()  # a cancel a library swallowed in the last round stops the loop here
            state.wake.clear()
            due = state.engine.next_timer()
            delay = self.options.max_timer_sleep_seconds
            if due is not None:
                delay = max(0.0, min(delay, due - self.clock()))
            await sleep_until_poked(state.wake, delay)
            try:
                await self.tick(state)
                await self._show(state)
                backoff.succeeded()
            except Exception:
                stop_if_cancelled()
                wait = backoff.failed()
                log.exception(
                    "%s: timer step failed (%d in a row); trying again in %.1f s", domain, backoff.failures, wait
                )
                await asyncio.sleep(wait)

    async def _show(self, state: DomainRouter) -> None:
        """Write the domain's live view for supervisors when `live_seconds` have passed since the last one."""
        now = self.clock()
        if now - self._shown.get(state.domain, float("-inf")) >= self.options.live_seconds:
            self._shown[state.domain] = now
            view = json.dumps(live_view(state, now), separators=(",", ":"))
            await self.store.put_live_view(state.domain, view, max(5.0, 5 * self.options.live_seconds))

    async def tick(self, state: DomainRouter) -> None:
        """Fire what is due now in one domain."""
        async with self._unit(state) as sound:
            now = self.clock()
            due = sound.engine.next_timer()
            if due is not None and due <= now:
                await sound.carry_out(sound.engine.advance(now), now)

    async def _sweep(self) -> None:
        while True:
            stop_if_cancelled()
            await asyncio.sleep(self.options.sweep_seconds)
            try:
                await self.sweep_once()
            except Exception:
                stop_if_cancelled()
                log.exception("heartbeat sweep failed; trying again")

    async def sweep_once(self) -> list[str]:
        """Set agents of owned domains whose heartbeats stopped offline; their offers go to others."""
        now = self.clock()
        gone: list[str] = []
        for agent_id in await self.store.stale_agents(now, self.options.heartbeat_timeout_seconds):
            state = next((s for s in self.domains.values() if agent_id in s.engine.agents), None)
            if state is None:
                continue
            async with self._unit(state) as state:
                await state.store.set_presence(agent_id, Presence.OFFLINE, None, now)
                state.changed_agent(agent_id, now)
                await state.carry_out(state.engine.set_presence(agent_id, Presence.OFFLINE, None, now), now)
                eid = event_id(agent_id, "heartbeat_lost", now)
                await state.announce.presence(agent_id, "offline", "heartbeat_lost", now, eid)
            gone.append(agent_id)
        return gone


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
