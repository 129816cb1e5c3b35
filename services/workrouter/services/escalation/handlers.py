"""Escalation handlers: fold each task event into the task's record and re-plan its timers; fire due timers.

Consuming `wr.tasks` keeps, per task, the record and the timers it needs now, changed together in
one transaction. Firing publishes the event a timer stands for on `wr.tasks` under an id derived
from (task, kind, ident), inside the store's firing block: a crash before the block ends leaves
the timer pending, and the retry publishes the same id, which every consumer deduplicates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter

from workrouter.bus.port import Bus, Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.topics import TopicNames
from workrouter.domain.escalation.fire import fire, timer_event_id
from workrouter.domain.escalation.plan import Rules, plan
from workrouter.domain.escalation.record import TaskRecord, apply
from workrouter.ports.timers import EscalationStore, Timer

log = logging.getLogger(__name__)
SOURCE = "/workrouter/escalation"
PUBLISH_CONCURRENCY = 64

FIRED = Counter("workrouter_escalation_timers_fired", "Timers that fired and published their event.", ["kind"])
DROPPED = Counter("workrouter_escalation_timers_dropped", "Due timers dropped: the task had moved on.", ["kind"])
ESCALATIONS = Counter(
    "workrouter_escalations", "Escalation steps taken, by action (alert, move_queue, park, flag, ...).", ["action"]
)


@dataclass
class EscalationDeps:
    """What the escalation handlers need."""

    store: EscalationStore
    rules: Rules
    bus: Bus
    topics: TopicNames = field(default_factory=TopicNames)
    poke: Callable[[datetime], None] = lambda _due: None  # tell the timer loop of a timer due early


async def handle(envelope: Envelope, delivery: Delivery, deps: EscalationDeps) -> None:
    """One `wr.tasks` event: the task's record and timers after it (unchanged records are not written)."""
    data = envelope.data
    if not isinstance(data, te.TaskEvent):
        return  # commands on wr.tasks (reclassify) change nothing here; their outcome does
    loaded = await deps.store.load([data.task_id])
    before = TaskRecord.from_json(loaded[data.task_id]) if data.task_id in loaded else None
    after = apply(before, envelope.type, data, envelope.id, envelope.time)
    if after == before:
        return
    timers = plan(after, deps.rules)
    await deps.store.save(data.task_id, after.to_json(), timers)
    if timers:
        deps.poke(min(t.due_at for t in timers))


async def fire_batch(timers: list[Timer], deps: EscalationDeps) -> None:
    """Publish what each due timer stands for (concurrently; all acknowledged before returning)."""
    records = await deps.store.load(sorted({t.task_id for t in timers}))
    events: list[Envelope] = []
    for timer in timers:
        raw = records.get(timer.task_id)
        payload = fire(timer, TaskRecord.from_json(raw) if raw is not None else None, deps.rules)
        if payload is None:
            DROPPED.labels(timer.kind).inc()
            log.debug("timer %s/%s of %s dropped: the task moved on", timer.kind, timer.ident, timer.task_id)
            continue
        eid = timer_event_id(timer)
        events.append(make_event(payload, source=SOURCE, key=timer.task_id, subject=timer.task_id, event_id=eid))
    gate = asyncio.Semaphore(PUBLISH_CONCURRENCY)

    async def publish(event: Envelope) -> None:
        async with gate:
            await deps.bus.publish(deps.topics.tasks, event)

    await asyncio.gather(*(publish(e) for e in events))
    for event in events:
        FIRED.labels(event.type.rsplit(".", 1)[-1]).inc()
        if isinstance(event.data, te.TaskEscalated):
            for action in event.data.actions:
                ESCALATIONS.labels(action).inc()
