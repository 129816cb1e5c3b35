"""Taking a routing domain over: the engine rebuilt from Redis, in the order the tasks arrived.

Profiles come from agents.yaml (and are written to Redis for the api); presence, holds and queue
entries come from Redis. Tasks are loaded before any agent is made ready, so when the agents come
back each is offered its best task by priority then age, exactly as if nothing had happened; holds
keep their start time, so an offer made by the previous owner times out when it would have.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from workrouter.adapters.redis_agent_records import AgentSnapshot, Holder, IdleClock
from workrouter.domain.routing import pull
from workrouter.domain.routing.actions import Action, AgentPaused, How, Offer
from workrouter.domain.routing.adopt import adopt, after_work, hold_foreign
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.holds import HELD_STATE
from workrouter.domain.routing.model import Presence
from workrouter.services.router.announce import offer_id
from workrouter.services.router.commands import DomainRouter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a takeover found."""

    domain: str
    agents: int
    waiting: int
    held: int
    parked: int
    after_work: int


async def rebuild(state: DomainRouter, now: float) -> Rebuilt:
    """Load the domain's agents and tasks from Redis into a fresh engine, then carry out what follows."""
    engine, store = state.engine, state.store
    members = [p for p in state.config.agents.values() if p.queues & set(state.queues)]
    for profile in members:
        await store.put_profile(profile)
        engine.put_agent(profile, now)
    live = {snap[0].agent_id: snap for snap in await store.load_agents()}
    raw = await store.load_tasks(state.domain)
    entries = sorted((QueueEntry.from_json(v) for v in raw.values()), key=lambda e: (e.seq, e.enqueued_at))
    holders = await store.holders([e.task_id for e in entries])
    state.next_seq = max((e.seq for e in entries), default=0) + 1
    actions: list[Action] = []
    counts = {"waiting": 0, "held": 0, "parked": 0, "after_work": 0, "dropped": 0}
    retired = await store.retired_among(state.domain, [e.classified_id for e in entries if e.classified_id])
    for entry in entries:
        if entry.classified_id in retired:  # the last owner was forgetting it (ended, left) when it died
            await _finish_forgetting(state, entry, holders.get(entry.task_id))
            counts["dropped"] += 1
            continue
        counts[await _load(state, entry, holders, actions, now)] += 1
    await _file_all(state)
    paused = {a.agent_id for a in actions if isinstance(a, AgentPaused)}
    known = [a for a in sorted(live) if a in engine.agents]
    idle = _idle_clocks(await store.idle_clocks(known), live, now)
    for agent_id in sorted(known, key=lambda a: (idle[a][0], a)):  # the longest idle chooses first
        _, presence, _, held = live[agent_id]
        for task_id in sorted(held - set(state.entries)):
            holder = await store.holder(task_id)
            if holder is not None:
                hold_foreign(engine, agent_id, task_id, holder.channel)
        given = engine.agents[agent_id].last_offered_at
        if agent_id not in paused and presence.presence is not Presence.OFFLINE:
            actions += engine.set_presence(agent_id, presence.presence, presence.reason, now)
        if engine.agents[agent_id].last_offered_at == given:  # not given a task just now: its clock as it was
            engine.restore_clock(agent_id, *idle[agent_id])
    await state.carry_out(actions, now)
    await _announce_open_offers(state, holders)
    report = Rebuilt(
        state.domain, len(members), counts["waiting"], counts["held"], counts["parked"], counts["after_work"]
    )
    log.info("%s: taken over: %s", state.domain, report)
    return report


def _idle_clocks(
    clocks: dict[str, IdleClock], live: dict[str, AgentSnapshot], now: float
) -> dict[str, tuple[float, float]]:
    """(idle since, last given a task) of each agent, as the engine keeps them: idle since it last became
    ready, was given a task or had one end; `now` when the store knows none of these."""
    out: dict[str, tuple[float, float]] = {}
    for agent_id, clock in clocks.items():
        presence = live[agent_id][1]
        ready_at = presence.since if presence.presence is Presence.READY else None
        known = [t for t in (clock.given_at, clock.freed_at, ready_at) if t is not None]
        given = clock.given_at if clock.given_at is not None else float("-inf")
        out[agent_id] = (max(known) if known else now, given)
    return out


async def _file_all(state: DomainRouter) -> None:
    """Make the api's pull indexes agree with the entries kept: whatever the last owner filed or failed to
    file, left behind or held, every waiting task of a pull queue and every parked task is where it belongs."""
    filed = {
        task_id: (entry, state.pulls(entry) and not state.held(task_id)) for task_id, entry in state.entries.items()
    }
    written, removed = await state.store.reconcile_index(state.domain, filed)
    if written or removed:
        log.info("%s: pull indexes: %d members written, %d removed", state.domain, written, removed)


async def _finish_forgetting(state: DomainRouter, entry: QueueEntry, holder: Holder | None) -> None:
    """Release what the task still holds and drop its entry: everything about it was announced before it
    was retired, so queueing it again would route a finished task a second time."""
    if holder is not None:
        await state.store.release(entry.task_id, holder.agent_id)
    await state.store.drop_task(state.domain, entry.task_id)
    log.info("%s: %s was being forgotten by the last owner; dropped", state.domain, entry.task_id)


async def _load(
    state: DomainRouter, entry: QueueEntry, holders: dict[str, Holder], actions: list[Action], now: float
) -> str:
    """Put one entry back into the engine as it was; returns what it was (waiting, held, ...)."""
    engine, store = state.engine, state.store
    holder = holders.get(entry.task_id)
    if holder is not None and holder.agent_id not in engine.agents:
        log.warning(
            "%s: %s is held by %s, who is no longer in agents.yaml; queued again",
            state.domain,
            entry.task_id,
            holder.agent_id,
        )
        await store.release(entry.task_id, holder.agent_id)
        holder = None
    if entry.queue not in state.queues or (entry.after_work_until is not None and holder is None):
        await store.drop_task(state.domain, entry.task_id)  # queue gone, or after-work over
        return "dropped"
    state.entries[entry.task_id] = entry
    if entry.after_work_until is not None and holder is not None:
        after_work(engine, holder.agent_id, entry.task_id, holder.channel, entry.after_work_until)
        return "after_work"
    if holder is not None:
        actions += adopt(engine, entry.spec(), holder.agent_id, HELD_STATE[holder.kind], since=holder.since, now=now)
        if holder.kind != "assign":
            state.offers[entry.task_id] = offer_id(entry.task_id, holder.agent_id, holder.since)
        return "held"
    actions += engine.enqueue(entry.spec(), now)  # no agent is ready yet: nothing is offered
    if entry.parked_for is not None and entry.parked_for in engine.agents:
        actions += pull.park(engine, entry.task_id, entry.parked_for, now)
        return "parked"
    return "waiting"


async def _announce_open_offers(state: DomainRouter, holders: dict[str, Holder]) -> None:
    """Announce again the offers the previous owner made, under the same ids: if it died between the
    reservation and the announcement, the agent hears of the offer now; if not, consumers dedupe."""
    for task_id in list(state.offers):
        holder = holders.get(task_id)
        task = state.engine.tasks.get(task_id)
        if (
            holder is None
            or task is None
            or task.agent_id != holder.agent_id
            or task.state not in ("offered", "claimed")
        ):
            continue
        how: How = "offer" if holder.kind == "offer" else "get_next"
        policy = state.queues[task.queue]
        offer = Offer(task_id, holder.agent_id, task.queue, task.tier, policy.strategy.value, 0.0, how, holder.since)
        await state.announce_hold(state.entries[task_id], offer, holder.since)
