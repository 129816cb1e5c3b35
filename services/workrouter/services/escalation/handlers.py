"""Escalation handlers: fold each task event into the task's record and re-plan its timers; fire due timers.

Consuming `wr.tasks` keeps, per task, the record and the timers it needs now, changed together in
one transaction per poll of events. Firing publishes the event a timer stands for on `wr.tasks` under an id derived
from (task, kind, ident), inside the store's firing block: a crash before the block ends leaves
the timer pending, and the retry publishes the same id, which every consumer deduplicates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
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
from workrouter.domain.escalation.timer import Timer
from workrouter.ports.timers import EscalationStore

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


async def handle_batch(batch: Sequence[tuple[Envelope, Delivery]], deps: EscalationDeps) -> None:
    """One poll of `wr.tasks` events: each task's record folded over its events in order, and the records and
    timers that changed saved in one transaction (unchanged records are not written). One transaction per
    event made escalation one of the first services to lag under load."""
    events = [(envelope, envelope.data) for envelope, _ in batch if isinstance(envelope.data, te.TaskEvent)]
    if not events:
        return  # commands on wr.tasks (reclassify) change nothing here; their outcome does
    loaded = await deps.store.load(sorted({data.task_id for _, data in events}))
    before = {task_id: TaskRecord.from_json(raw) for task_id, raw in loaded.items()}
    after: dict[str, TaskRecord] = dict(before)
    for envelope, data in events:
        after[data.task_id] = apply(after.get(data.task_id), envelope.type, data, envelope.id, envelope.time)
    items = []
    for task_id, record in after.items():
        if record != before.get(task_id):
            items.append((task_id, record.to_json(), plan(record, deps.rules)))
    if not items:
        return
    await deps.store.save_many(items)
    dues = [t.due_at for _, _, timers in items for t in timers]
    if dues:
        deps.poke(min(dues))


async def handle(envelope: Envelope, delivery: Delivery, deps: EscalationDeps) -> None:
    """One `wr.tasks` event (a batch of one)."""
    await handle_batch([(envelope, delivery)], deps)


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
