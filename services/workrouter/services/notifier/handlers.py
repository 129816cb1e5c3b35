"""The notifier's handler: fold each `wr.tasks` event into the task's view and enqueue its callback, if any.

The view and the callback are written in one transaction, and the callback's key is the event id
(ON CONFLICT DO NOTHING), so a redelivered event never makes a second callback. Only the source's
name is stored with a callback; its URL and secret are looked up in sources.yaml when it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workrouter.bus.port import Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope
from workrouter.domain.notify import callback as cb
from workrouter.domain.notify.view import TaskView
from workrouter.ports.callbacks import CallbackStore, Change
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


async def handle(envelope: Envelope, delivery: Delivery, deps: NotifierDeps) -> None:
    """One `wr.tasks` event: the task's view after it, and its callback when the source subscribes to it."""
    data = envelope.data
    now = deps.clock()
    if isinstance(data, te.TaskRejected):
        rejected = cb.rejected(envelope.id, envelope.partitionkey, data, envelope.time, deps.subscriptions)
        enqueued = rejected if rejected is not None and await deps.store.enqueue(rejected, now) else None
    elif isinstance(data, te.TaskEvent):
        enqueued = await deps.store.apply(data.task_id, step_for(envelope, data, deps.subscriptions), now)
    else:
        return  # commands on wr.tasks (reclassify) are not called back; their outcome may be
    if enqueued is not None:
        metrics.ENQUEUED.labels(enqueued.source, enqueued.event).inc()
        log.debug("callback %s: %s of task %s for %s", enqueued.id, enqueued.event, enqueued.task_id, enqueued.source)
        deps.poke(enqueued.source)
