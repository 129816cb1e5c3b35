"""One poll of `wr.capture` as one unit of work for capture: the records of every item it names read in
one query, everything it publishes sent together, then the records written in one statement.

Each command is still handled by `handlers.handle`, in order, against the records as the commands before
it in the poll left them. The order of one command is kept for the poll: publish first, then remember. A
crash in between hands the poll again, which decides the same way from the same stored records and sends
the same event ids (consumers deduplicate).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from workrouter.bus.outbox import Outbox
from workrouter.bus.port import Delivery
from workrouter.contracts import commands as c
from workrouter.contracts.envelope import Envelope
from workrouter.domain.capture import CaptureRecord
from workrouter.ports.stores import CaptureStore
from workrouter.services.capture.handlers import CaptureDeps, handle

Key = tuple[str, str]


class PollCaptures:
    """The records of one poll's items: read once, changed in memory, written once (CaptureStore)."""

    def __init__(self, store: CaptureStore, read: Collection[Key], loaded: dict[Key, CaptureRecord]) -> None:
        self.store = store
        self.loaded = loaded
        self.unknown = set(read) - set(loaded)  # read at the start and not there
        self.changed: dict[Key, None] = {}

    async def get(self, source: str, external_id: str) -> CaptureRecord | None:
        """As the poll's commands so far left it (an item not read at the start is read now)."""
        key = (source, external_id)
        if key not in self.loaded and key not in self.unknown:
            found = await self.store.get(source, external_id)
            if found is None:
                self.unknown.add(key)
            else:
                self.loaded[key] = found
        return self.loaded.get(key)

    async def put(self, record: CaptureRecord) -> None:
        """Kept until the poll's end."""
        key = (record.source, record.external_id)
        self.loaded[key] = record
        self.changed[key] = None

    async def get_many(self, keys: Collection[Key]) -> dict[Key, CaptureRecord]:
        """As `get`, for several."""
        found = {k: await self.get(*k) for k in keys}
        return {k: record for k, record in found.items() if record is not None}

    async def put_many(self, records: Sequence[CaptureRecord]) -> None:
        """As `put`, for several."""
        for record in records:
            await self.put(record)

    def written(self) -> list[CaptureRecord]:
        """What changed, each item once."""
        return [self.loaded[k] for k in self.changed]


def _keys(data: object) -> list[Key]:
    """The (source, external_id) a command names, to read them all at once. A batch's items are read from
    their documents, not validated here (the handler validates each once); an item this misses is read
    when it is handled (PollCaptures.get)."""
    if isinstance(data, c.CaptureTaskBatch):
        pairs = [(item.get("source"), item.get("external_id")) for item in data.items]
        return [(s, e) for s, e in pairs if isinstance(s, str) and isinstance(e, str)]
    if isinstance(data, c.CaptureTask | c.SourceCommand):
        return [(data.source, data.external_id)]
    return []


async def handle_poll(batch: Sequence[tuple[Envelope, Delivery]], deps: CaptureDeps) -> None:
    """Handle one poll's commands, in order, as one unit."""
    keys = {k for envelope, _ in batch for k in _keys(envelope.data)}
    records = PollCaptures(deps.store, keys, await deps.store.get_many(keys))
    outbox = Outbox()
    unit = dataclasses.replace(deps, store=records, bus=outbox)
    for envelope, delivery in batch:
        await handle(envelope, delivery, unit)
    await deps.bus.publish_all(outbox.events)  # first: a crash before the records are written sends them again
    await deps.store.put_many(records.written())
