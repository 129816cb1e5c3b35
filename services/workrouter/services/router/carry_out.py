"""Making the engine's decisions real: reserve in Redis first, then announce; follow Redis when it says no."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Literal

from workrouter.adapters.redis_agent_records import HoldKind, ReserveResult
from workrouter.config.routing import RoutingConfig
from workrouter.contracts.task_events import TaskAccepted, TaskOffered, TaskOfferRevoked
from workrouter.domain.routing.actions import Action, AgentPaused, CapacityFreed, Offer, Revoke
from workrouter.domain.routing.adopt import adopt, drop_foreign, hold_foreign
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.holds import HELD_STATE
from workrouter.domain.routing.model import Mode, Presence
from workrouter.services.router.announce import Announcer, at, event_id, offer_id
from workrouter.services.router.effects import Effects
from workrouter.services.router.metrics import DomainMetrics

log = logging.getLogger(__name__)

KIND: dict[str, HoldKind] = {"offer": "offer", "get_next": "claim"}  # any other way of giving a task is an assignment
REVOKED: dict[str, Literal["rona", "rejected", "cancelled", "agent_offline", "claim_timeout", "taken_back"]] = {
    "timeout": "rona",
    "rejected": "rejected",
    "agent_offline": "agent_offline",
    "withdrawn": "cancelled",
    "claim_timeout": "claim_timeout",
    "taken_back": "taken_back",
}
MAX_REFUSALS = 3  # per agent and batch: then the engine stops proposing the agent until it changes presence
OUT_OF_SYNC = "out_of_sync"
KEEP_RETIRED_SECONDS = 86_400.0  # how long a finished classification is recognised when redelivered


class DomainState:
    """One routing domain as its owner holds it: the engine, the queue entries and the open offers."""

    def __init__(
        self,
        domain: str,
        config: RoutingConfig,
        store: Effects,
        announcer: Announcer,
        *,
        keep_retired_seconds: float = KEEP_RETIRED_SECONDS,
    ) -> None:
        self.domain = domain
        self.keep_retired_seconds = keep_retired_seconds
        self.base_config = self.config = config  # agents.yaml; `config` with the live directory applied (rebuild)
        self.queues = {name: q for name, q in config.queues.items() if q.domain == domain}
        self.engine = Engine(self.queues)
        self.store = store
        self.announce = announcer
        self.entries: dict[str, QueueEntry] = {}
        self.offers: dict[str, str] = {}  # task -> id of its announced offer or get-next claim
        self.force_by: dict[str, str] = {}  # task -> supervisor, while a force-assign is carried out
        self.next_seq = 1
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()  # set when timers may have moved earlier
        self.metrics = DomainMetrics()
        self.refusals: dict[str, int] = {}  # agent -> reservations Redis refused in this unit of work
        self.retired_ids: set[str] = set()  # of the classifications asked about up front in this unit, the retired
        self.asked: set[str] = set()  # those asked about (and retired since, in this unit: in `retired_ids`)
        self.others = blended(config, domain)  # agent -> its other routing domains (decisions D21)
        self.changed: dict[str, float] = {}  # blended agents whose holds or presence this unit changed -> when

    async def carry_out(self, actions: Iterable[Action], now: float) -> None:
        """Carry out the engine's actions in order (held, `Effects`); a refused reservation feeds new actions
        back in when Redis has answered it."""
        for action in actions:
            if isinstance(action, Offer):
                await self._offer(action, now)
            elif isinstance(action, Revoke):
                await self._revoke(action)
            elif isinstance(action, AgentPaused):  # announced first, like everything here (see `_revoke`)
                eid = event_id(action.agent_id, action.reason, action.at, "paused")
                await self.announce.presence(action.agent_id, "not_ready", action.reason, action.at, eid)
                await self.store.set_presence(action.agent_id, Presence.NOT_READY, action.reason, action.at)
                self.changed_agent(action.agent_id, now)
            elif isinstance(action, CapacityFreed):
                await self.let_go(action.task_id, action.agent_id, now)
        self.wake.set()

    async def ask_retired(self, classified_ids: list[str]) -> None:
        """Ask Redis once which of a unit's classifications are retired (`is_retired` then knows)."""
        if classified_ids:
            self.retired_ids |= await self.store.retired_among(self.domain, classified_ids)
            self.asked.update(classified_ids)

    async def is_retired(self, classified_id: str) -> bool:
        """The domain is done with this classification (asked up front, or now)."""
        if classified_id in self.asked:
            return classified_id in self.retired_ids
        return await self.store.retired(self.domain, classified_id)

    async def settle(self) -> None:
        """End a unit of work: everything held carried out (`Effects`), then the other domains of the blended
        agents it changed told to read them again (Redis has the change by then); its bookkeeping forgotten."""
        try:
            await self.store.flush()
            if self.changed:
                for agent_id, when in sorted(self.changed.items()):
                    for domain in self.others[agent_id]:
                        await self.announce.sync(agent_id, domain, when)
                self.changed.clear()
                await self.store.flush()
        finally:
            self.refusals.clear()
            self.retired_ids.clear()
            self.asked.clear()
            self.changed.clear()

    def changed_agent(self, agent_id: str, now: float) -> None:
        """Note that this unit changed the agent's holds or presence in Redis: if the agent is blended, the
        routers of its other domains hear it when the unit settles (`SyncAgent`)."""
        if agent_id in self.others:
            self.changed.setdefault(agent_id, now)

    async def retire(self, entry: QueueEntry | None, now: float) -> None:
        """Done with the entry's classification: a redelivered copy of it will be ignored, not queued again."""
        if entry is not None and entry.classified_id:
            await self.store.retire(self.domain, entry.classified_id, now, self.keep_retired_seconds)
            self.retired_ids.add(entry.classified_id)

    async def end(self, task_id: str, now: float) -> None:
        """The task is over (completed, cancelled, expired): a classification of it decided before that and
        arriving after (an escalation's reprioritisation racing the agent's finish) is ignored, not queued."""
        marker = ended_id(task_id)
        await self.store.retire(self.domain, marker, now, self.keep_retired_seconds)
        self.retired_ids.add(marker)

    async def let_go(self, task_id: str, agent_id: str, now: float) -> None:
        """The agent's finished task leaves the domain (everything about it announced): retired, released and
        dropped in one Redis transaction, then forgotten here."""
        entry = self.entries.get(task_id)
        retire = None
        if entry is not None and entry.classified_id:
            retire = (entry.classified_id, now, self.keep_retired_seconds)
            self.retired_ids.add(entry.classified_id)
        await self.unfile(entry)
        await self.store.let_go(self.domain, task_id, agent_id, retire, now)  # its idle clock restarts now
        self.changed_agent(agent_id, now)
        self.entries.pop(task_id, None)
        self.offers.pop(task_id, None)
        self.metrics.forget(task_id)

    async def forget(self, task_id: str) -> None:
        """Drop the task's entry. Callers announce everything first, then retire the classification, then release
        the hold in Redis: an entry a rebuild finds retired is dropped, never queued again."""
        entry = self.entries.pop(task_id, None)
        self.offers.pop(task_id, None)
        self.metrics.forget(task_id)
        await self.unfile(entry)
        await self.store.drop_task(self.domain, task_id)

    def pulls(self, entry: QueueEntry) -> bool:
        """True when the entry's queue is a pull queue: its waiting tasks are filed in the api's pull indexes."""
        policy = self.queues.get(entry.queue)
        return policy is not None and policy.mode is Mode.PULL

    async def file(self, entry: QueueEntry, old: QueueEntry | None) -> None:
        """File the entry the router just saved in the pull indexes, where `old` (its last version) was
        filed no longer; a task an agent holds stays out of its queue's bands (the api skips held tasks anyway)."""
        await self.unfile(old)
        pull = self.pulls(entry)
        if pull or entry.parked_for is not None:
            await self.store.index_task(self.domain, entry, pull and not self.held(entry.task_id))

    async def unfile(self, entry: QueueEntry | None) -> None:
        """Take the entry out of the pull indexes (entries of push queues are filed only while parked)."""
        if entry is not None and (self.pulls(entry) or entry.parked_for is not None):
            await self.store.unindex_task(self.domain, entry)

    def held(self, task_id: str) -> bool:
        """True when the engine has the task offered, claimed or assigned."""
        task = self.engine.tasks.get(task_id)
        return task is not None and task.state in ("offered", "claimed", "assigned")

    async def _offer(self, offer: Offer, now: float) -> None:
        """Reserve in Redis; once it answers, announce the offer or follow Redis's refusal."""
        entry = self.entries[offer.task_id]
        by = self.force_by.get(offer.task_id)  # known now: the reservation is answered after the handler returned

        async def answered(result: ReserveResult) -> None:
            if result is ReserveResult.OK:
                self.metrics.gave(
                    entry.task_id, entry.queue, offer.how, entry.enqueued_at, offer.at, captured_at=entry.captured_at
                )
                await self.announce_hold(entry, offer, offer.at, by=by)
                self.changed_agent(offer.agent_id, now)
            else:
                await self.carry_out(await self._refused(offer, entry, result, now), now)

        kind = KIND.get(offer.how, "assign")
        require_ready = offer.how != "force"
        await self.store.reserve_then(
            offer.agent_id, offer.task_id, entry.channel, kind, offer.at, require_ready=require_ready, then=answered
        )

    async def _refused(self, offer: Offer, entry: QueueEntry, result: ReserveResult, now: float) -> list[Action]:
        """Redis said no: the engine follows it (another agent, or the agent's state as Redis has it)."""
        engine = self.engine
        if result is ReserveResult.TAKEN:
            holder = await self.store.holder(offer.task_id)
            if holder is not None:  # an api claim won the race: the engine follows Redis
                log.info(
                    "%s: %s was claimed by %s before our offer to %s",
                    self.domain,
                    offer.task_id,
                    holder.agent_id,
                    offer.agent_id,
                )
                return adopt(
                    engine, entry.spec(), holder.agent_id, HELD_STATE[holder.kind], since=holder.since, now=now
                )
        log.info("%s: Redis refused %s for %s (%s)", self.domain, offer.task_id, offer.agent_id, result.value)
        actions = engine.refused(offer.task_id, offer.agent_id, now)
        if offer.agent_id in self.others and result in (ReserveResult.NO_CAPACITY, ReserveResult.NOT_READY):
            # another domain's router filled the agent or paused it, and its SyncAgent is on the way: not a
            # sign that this engine lost track, so it does not count towards out_of_sync; read Redis now
            return actions + await self.resync(offer.agent_id, now)
        count = self.refusals[offer.agent_id] = self.refusals.get(offer.agent_id, 0) + 1
        if count >= MAX_REFUSALS:
            log.error(
                "%s: Redis keeps refusing %s; not routing to it until its presence changes", self.domain, offer.agent_id
            )
            return actions + engine.set_presence(offer.agent_id, Presence.NOT_READY, OUT_OF_SYNC, now)
        return actions + await self.resync(offer.agent_id, now)

    async def announce_hold(
        self, entry: QueueEntry, offer: Offer, since: float, eid: str | None = None, by: str | None = None
    ) -> None:
        """Announce that the agent holds the task: an offer (or get-next claim) to answer, or an assignment.
        Held, it leaves its pull queue's bands (the api would only skip it there)."""
        policy = self.queues[entry.queue]
        if self.pulls(entry):
            await self.store.unindex_task(self.domain, entry)
        if offer.how in KIND:
            oid = self.offers[entry.task_id] = offer_id(entry.task_id, offer.agent_id, since)
            timeout = policy.offer_timeout_seconds if offer.how == "offer" else policy.claim_timeout_seconds
            expires = since + timeout
            payload = TaskOffered(
                task_id=entry.task_id,
                offer_id=oid,
                agent_id=offer.agent_id,
                queue=entry.queue,
                tier=offer.tier,
                strategy=offer.strategy,
                score=offer.score,
                how=offer.how,
                url=entry.url,
                title=entry.title,
                offer_expires_at=at(expires),
            )
            await self.announce.task(payload, offer.at, eid=eid or event_id(oid, "offered"))
            await self.announce.note(
                offer.agent_id, "offered", entry, offer_id=oid, how=offer.how, expires_at=at(expires).isoformat()
            )
            return
        accepted = TaskAccepted(
            task_id=entry.task_id,
            agent_id=offer.agent_id,
            how=offer.how,
            queue=entry.queue,
            tier=offer.tier,
            strategy=offer.strategy,
            score=offer.score,
            by=by,
        )
        await self.announce.task(
            accepted, offer.at, eid=eid or event_id(entry.task_id, offer.agent_id, since, "assigned")
        )
        await self.announce.note(offer.agent_id, "assigned", entry, how=offer.how)

    async def _revoke(self, revoke: Revoke) -> None:
        """Announce, then release in Redis: after a crash in between, the new owner finds the offer still held,
        its timer due, and revokes it again under the same event id (released first, the revoke would be lost)."""
        if revoke.reason == "refused":  # never reserved, never announced
            return
        oid = self.offers.pop(revoke.task_id, None)
        if oid is not None:
            reason = REVOKED[revoke.reason]
            entry = self.entries.get(revoke.task_id)
            self.metrics.revoked(entry.queue if entry is not None else "", reason)
            payload = TaskOfferRevoked(task_id=revoke.task_id, offer_id=oid, agent_id=revoke.agent_id, reason=reason)
            await self.announce.task(payload, revoke.at, eid=event_id(oid, "revoked"))
            await self.announce.note(
                revoke.agent_id, "revoked", None, task_id=revoke.task_id, offer_id=oid, reason=reason
            )
        await self.store.release(revoke.task_id, revoke.agent_id)
        self.changed_agent(revoke.agent_id, revoke.at)
        entry = self.entries.get(revoke.task_id)
        if entry is not None and self.pulls(entry):  # back in its queue: filed again (a withdrawal drops it next)
            await self.store.index_task(self.domain, entry, True)

    async def resync(self, agent_id: str, now: float) -> list[Action]:
        """Bring the engine's view of an agent in line with Redis: its presence and what it holds."""
        engine = self.engine
        agent = engine.agents.get(agent_id)
        if agent is None:
            return []
        actions: list[Action] = []
        held = await self.store.held(agent_id)
        for task_id in sorted(held - agent.tasks):
            holder = await self.store.holder(task_id)
            if holder is None or holder.agent_id != agent_id:
                continue
            entry = self.entries.get(task_id)
            if entry is not None and entry.after_work_until is None:
                actions += adopt(engine, entry.spec(), agent_id, HELD_STATE[holder.kind], since=holder.since, now=now)
            else:
                hold_foreign(engine, agent_id, task_id, holder.channel)
        actions += drop_foreign(engine, agent_id, held, now)
        state = await self.store.get_presence(agent_id)
        if (state.presence, state.reason) != (agent.presence, agent.reason):
            actions += engine.set_presence(agent_id, state.presence, state.reason, now)
        return actions


def ended_id(task_id: str) -> str:
    """The member of the retired set that says a task is over (classification ids are UUIDs: no clash)."""
    return f"ended:{task_id}"


def blended(config: RoutingConfig, domain: str) -> dict[str, tuple[str, ...]]:
    """The agents of `domain` who also serve queues of other domains, with those domains."""
    out: dict[str, tuple[str, ...]] = {}
    for agent_id in config.agents:
        domains = config.domains_of(agent_id)
        if len(domains) > 1 and domain in domains:
            out[agent_id] = tuple(d for d in domains if d != domain)
    return out
