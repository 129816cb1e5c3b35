"""The notifier's handler: fold each `wr.tasks` event into the task's view and enqueue its callback, if any.

The views and callbacks of one poll's events are written in one transaction, and a callback's key is
its event id (ON CONFLICT DO NOTHING), so a redelivered event never makes a second callback. Only the source's
name is stored with a callback; its URL and secret are looked up in sources.yaml when it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workrouter.bus.port import Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope
from workrouter.domain.notify import callback as cb
from workrouter.domain.notify.callback import NewCallback
from workrouter.domain.notify.view import TaskView
from workrouter.ports.callbacks import CallbackStore, Change, Step
from workrouter.services.notifier import metrics

log = logging.getLogger(__name__)


@dataclass
class NotifierDeps:
    """What the notifier's handler needs."""

    store: CallbackStore
    subscriptions: cb.Subscriptions
    clock: Callable[[], datetime]
    poke: Callable[[str], None] = lambda _source: None  # tell the source's worker a callback was enqueued


def step_for(
    envelope: Envelope, data: te.TaskEvent, subs: cb.Subscriptions
) -> Callable[[dict[str, Any] | None], Change]:
    """The fold of one event over a stored view, as the store runs it under the task's lock."""

    def step(raw: dict[str, Any] | None) -> Change:
        before = None if raw is None else TaskView.from_json(raw)
        decision = cb.decide(before, envelope.type, data, envelope.id, envelope.time, subs=subs)
        keep = decision.view is not None and decision.view != before
        return Change(decision.view.to_json() if keep and decision.view else None, decision.closed, decision.callback)

    return step


async def handle_batch(batch: Sequence[tuple[Envelope, Delivery]], deps: NotifierDeps) -> None:
    """One poll of `wr.tasks` events: every task's view after them and their callbacks, in one transaction
    (one per event cost the notifier most of its time and made it the first service to lag)."""
    now = deps.clock()
    steps: list[tuple[str, Step]] = []
    enqueued: list[NewCallback] = []
    for envelope, _ in batch:
        data = envelope.data
        if isinstance(data, te.TaskRejected):
            rejected = cb.rejected(envelope.id, envelope.partitionkey, data, envelope.time, deps.subscriptions)
            if rejected is not None and await deps.store.enqueue(rejected, now):
                enqueued.append(rejected)
        elif isinstance(data, te.TaskEvent):
            steps.append((data.task_id, step_for(envelope, data, deps.subscriptions)))
        # commands on wr.tasks (reclassify) are not called back; their outcome may be
    enqueued += await deps.store.apply_many(steps, now)
    for callback in enqueued:
        metrics.ENQUEUED.labels(callback.source, callback.event).inc()
        log.debug("callback %s: %s of task %s for %s", callback.id, callback.event, callback.task_id, callback.source)
        deps.poke(callback.source)


async def handle(envelope: Envelope, delivery: Delivery, deps: NotifierDeps) -> None:
    """One `wr.tasks` event (a batch of one)."""
    await handle_batch([(envelope, delivery)], deps)
