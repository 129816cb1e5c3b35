"""In-memory escalation store: the PostgreSQL store's semantics in dicts and a heap (unit tests, embedded mode).

Records and payloads go through JSON on the way in, as they would through a jsonb column. Pending
timers sit in a heap keyed by due time with lazy deletion: an entry whose (task, kind) has since
got another ident, fired or gone is dropped when it reaches the top.
"""

from __future__ import annotations

import asyncio
import heapq
import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from workrouter.domain.escalation.timer import Timer
from workrouter.ports.timers import TimerCounts

Key = tuple[str, str]  # (task_id, kind)
Entry = tuple[datetime, str, str, str]  # (due_at, task_id, kind, ident): one heap entry


@dataclass
class _Row:
    timer: Timer
    fired_at: datetime | None = None


def _json(value: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(value))
    return copied


def _check(task_id: str, record: dict[str, Any] | None, timers: Sequence[Timer]) -> None:
    if record is None and timers:
        raise ValueError(f"task {task_id}: deleting the record (record=None) needs an empty timer set")
    kinds = [t.kind for t in timers]
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"task {task_id}: at most one timer of each kind, got {sorted(kinds)}")
    for timer in timers:
        if timer.task_id != task_id:
            raise ValueError(f"task {task_id}: timer {timer.kind} belongs to task {timer.task_id}")
        if timer.due_at.tzinfo is None:
            raise ValueError(f"task {task_id}: timer {timer.kind} has a naive due_at; use timezone-aware times")


class MemoryEscalationStore:
    """EscalationStore in dicts; `firing` blocks lock their timers against other firers and saves."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self._rows: dict[Key, _Row] = {}
        self._kinds: dict[str, set[str]] = {}
        self._heap: list[Entry] = []
        self._locked: dict[Key, Entry] = {}
        self._locked_tasks: Counter[str] = Counter()
        self._released = asyncio.Condition()

    async def migrate(self) -> None:
        """Nothing to create."""

    async def load(self, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records of the given tasks that exist (task_id -> record)."""
        return {task_id: _json(self.records[task_id]) for task_id in task_ids if task_id in self.records}

    async def save(self, task_id: str, record: dict[str, Any] | None, timers: Sequence[Timer]) -> None:
        """Replace the task's record and its whole timer set (after any firing block holding its timers)."""
        await self.save_many([(task_id, record, timers)])

    async def save_many(self, items: Sequence[tuple[str, dict[str, Any] | None, Sequence[Timer]]]) -> None:
        """`save` for many tasks at once, all or nothing: every item is checked and copied before any is applied."""
        for item in items:
            _check(*item)
        copies = [
            (task_id, None if record is None else _json(record), [replace(t, payload=_json(t.payload)) for t in timers])
            for task_id, record, timers in items
        ]
        tasks = {task_id for task_id, _, _ in items}
        async with self._released:
            await self._released.wait_for(lambda: not any(self._locked_tasks[t] for t in tasks))
            for task_id, record, timers in copies:
                self._apply(task_id, record, timers)

    def _apply(self, task_id: str, record: dict[str, Any] | None, timers: Sequence[Timer]) -> None:
        if record is None:
            self.records.pop(task_id, None)
        else:
            self.records[task_id] = record
        wanted = {t.kind: t for t in timers}
        for kind in self._kinds.get(task_id, set()) - set(wanted):
            del self._rows[(task_id, kind)]
        self._kinds[task_id] = set(wanted)
        if not wanted:
            del self._kinds[task_id]
        for kind, timer in wanted.items():
            row = self._rows.get((task_id, kind))
            if row is not None and row.timer.ident == timer.ident:
                continue
            self._rows[(task_id, kind)] = _Row(timer)
            heapq.heappush(self._heap, (timer.due_at, task_id, kind, timer.ident))

    def _pending(self, entry: Entry) -> bool:
        row = self._rows.get((entry[1], entry[2]))
        return row is not None and row.fired_at is None and (row.timer.due_at, row.timer.ident) == (entry[0], entry[3])

    def firing(self, now: datetime, limit: int) -> AbstractAsyncContextManager[list[Timer]]:
        """Due pending timers, earliest first, locked for the block; marked fired if it ends normally."""
        if now.tzinfo is None:
            raise ValueError("firing needs a timezone-aware `now`")
        return self._firing(now, limit)

    @asynccontextmanager
    async def _firing(self, now: datetime, limit: int) -> AsyncIterator[list[Timer]]:
        taken = self._take(now, limit)
        for entry in taken:
            self._locked[(entry[1], entry[2])] = entry
            self._locked_tasks[entry[1]] += 1
        try:
            yield [self._rows[(e[1], e[2])].timer for e in taken]
        except BaseException:
            for entry in taken:
                heapq.heappush(self._heap, entry)
            raise
        else:
            for entry in taken:
                self._rows[(entry[1], entry[2])].fired_at = now
        finally:
            for entry in taken:
                del self._locked[(entry[1], entry[2])]
                self._locked_tasks[entry[1]] -= 1
                if not self._locked_tasks[entry[1]]:
                    del self._locked_tasks[entry[1]]
            async with self._released:
                self._released.notify_all()

    def _take(self, now: datetime, limit: int) -> list[Entry]:
        taken: dict[Key, Entry] = {}
        while self._heap and len(taken) < limit and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)
            key = (entry[1], entry[2])
            # A second entry of a timer taken here or locked by another block is a copy: the taken one stands for it.
            if self._pending(entry) and key not in taken and key not in self._locked:
                taken[key] = entry
        return list(taken.values())

    async def next_due(self) -> datetime | None:
        """The due time of the earliest pending timer (locked ones included), or None."""
        while self._heap and not self._pending(self._heap[0]):
            heapq.heappop(self._heap)
        dues = [entry[0] for entry in self._locked.values()]
        if self._heap:
            dues.append(self._heap[0][0])
        return min(dues, default=None)

    async def counts(self) -> TimerCounts:
        """Pending and fired timers."""
        fired = sum(1 for row in self._rows.values() if row.fired_at is not None)
        return TimerCounts(pending=len(self._rows) - fired, fired=fired)
