"""One poll of `wr.tasks` as one unit of work for the prioritiser: the facts of every task in it read in one
query and written in one statement, and everything it publishes sent together (one request per partition's
batch, not a round trip each). Each event is still handled by `handlers.handle`, in order, against the
poll's facts as the events before it left them, so the outcome is the same as one event at a time.

Crash safety is as before, per poll instead of per event: the facts are written before anything is sent,
and the offsets are committed after. Killed in between, the prioritiser is handed the poll again; the
events already applied are then skipped except each task's last (`_applied`, docs/prioritisation.md), whose
outcome is sent again under the same id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from workrouter.bus.outbox import Outbox
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.ports.stores import TaskFactsStore
from workrouter.services.prioritiser.handlers import PrioritiserDeps, handle

Facts = tuple[dict[str, Any], datetime]


class PollFacts:
    """The facts of one poll's tasks: read once, changed in memory, written once (TaskFactsStore)."""

    def __init__(self, store: TaskFactsStore, read: Collection[str], loaded: dict[str, Facts]) -> None:
        self.store = store
        self.loaded = loaded
        self.unknown = set(read) - set(loaded)  # read at the start and not there
        self.changed: dict[str, None] = {}  # in the order first changed

    async def get(self, task_id: str) -> Facts | None:
        """As the poll's events so far left them (a task not read at the start is read now)."""
        if task_id not in self.loaded and task_id not in self.unknown:
            found = await self.store.get(task_id)
            if found is None:
                self.unknown.add(task_id)
            else:
                self.loaded[task_id] = found
        return self.loaded.get(task_id)

    async def put(self, task_id: str, facts: dict[str, Any], captured_at: datetime) -> None:
        """Kept until the poll's end."""
        self.loaded[task_id] = (facts, captured_at)
        self.changed[task_id] = None

    async def get_many(self, task_ids: Collection[str]) -> dict[str, Facts]:
        """As `get`, for several."""
        found = {t: await self.get(t) for t in task_ids}
        return {t: facts for t, facts in found.items() if facts is not None}

    async def put_many(self, items: Sequence[tuple[str, dict[str, Any], datetime]]) -> None:
        """As `put`, for several."""
        for task_id, facts, captured_at in items:
            await self.put(task_id, facts, captured_at)

    def written(self) -> list[tuple[str, dict[str, Any], datetime]]:
        """What changed, each task once."""
        return [(t, *self.loaded[t]) for t in self.changed]


async def handle_poll(batch: Sequence[tuple[Envelope, Delivery]], deps: PrioritiserDeps) -> None:
    """Handle one poll's events (only the types the prioritiser takes reach it), in order, as one unit."""
    task_ids = {task_id for envelope, _ in batch if isinstance(task_id := getattr(envelope.data, "task_id", None), str)}
    async with deps.facts_lock:  # a poison hold waits: it would be undone by this poll's write (PrioritiserDeps)
        facts = PollFacts(deps.facts, task_ids, await deps.facts.get_many(task_ids))
        outbox = Outbox()
        unit = dataclasses.replace(deps, facts=facts, bus=outbox)
        for envelope, delivery in batch:
            await handle(envelope, delivery, unit)
        await deps.facts.put_many(facts.written())  # before anything is sent: a crash in between sends it again
        await deps.bus.publish_all(outbox.events)
