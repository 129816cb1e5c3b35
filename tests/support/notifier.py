"""Notifier test helpers: an in-memory twin of the callback store, a hand-set clock, and task events."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.domain.notify.callback import NewCallback
from workrouter.ports.callbacks import CallbackRow, Claimed, Status, Step

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class _Row:
    id: str
    source: str
    task_id: str
    event: str
    body: bytes
    next_attempt_at: datetime
    created_at: datetime
    status: Status = "pending"
    attempts: int = 0
    claim: str | None = None
    last_error: str | None = None
    last_status: int | None = None
    delivered_at: datetime | None = None
    dead_at: datetime | None = None

    def public(self) -> CallbackRow:
        return CallbackRow(
            self.id,
            self.source,
            self.task_id,
            self.event,
            self.status,
            self.attempts,
            self.last_error,
            self.last_status,
            self.created_at,
            self.dead_at,
        )


class MemoryCallbackStore:
    """The PostgreSQL store's semantics in dicts (one event loop: each call is atomic)."""

    def __init__(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}
        self.closed_at: dict[str, datetime] = {}
        self.rows: dict[str, _Row] = {}

    async def migrate(self) -> None:
        """Nothing to create."""

    async def apply(self, task_id: str, step: Step, now: datetime) -> NewCallback | None:
        """Run the step on a copy of the view; save what it says."""
        change = step(copy.deepcopy(self.views.get(task_id)))
        if change.view is not None:
            self.views[task_id] = copy.deepcopy(change.view)
            if change.closed:
                self.closed_at.setdefault(task_id, now)
        if change.callback is None:
            return None
        return change.callback if await self.enqueue(change.callback, now) else None

    async def apply_many(self, steps: Sequence[tuple[str, Step]], now: datetime) -> list[NewCallback]:
        """Each step in order (one event loop: atomic as a whole)."""
        inserted = [await self.apply(task_id, step, now) for task_id, step in steps]
        return [c for c in inserted if c is not None]

    async def enqueue(self, callback: NewCallback, now: datetime) -> bool:
        """Insert unless the id exists."""
        if callback.id in self.rows:
            return False
        c = callback
        self.rows[c.id] = _Row(c.id, c.source, c.task_id, c.event, c.body, next_attempt_at=now, created_at=now)
        return True

    async def claim(self, source: str, now: datetime, limit: int, lease_seconds: float) -> list[Claimed]:
        """Lease up to `limit` due rows of the source."""
        due = [
            r for r in self.rows.values() if r.status == "pending" and r.source == source and r.next_attempt_at <= now
        ]
        due.sort(key=lambda r: r.next_attempt_at)
        token = uuid.uuid4().hex
        out = []
        for row in due[: max(limit, 0)]:
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=lease_seconds)
            row.claim = token
            out.append(Claimed(row.id, row.source, row.task_id, row.event, row.body, row.attempts, token))
        return out

    def _held(self, claimed: Claimed) -> _Row | None:
        row = self.rows.get(claimed.id)
        return row if row is not None and row.claim == claimed.claim and row.status == "pending" else None

    async def delivered(self, claimed: Claimed, now: datetime, status: int) -> bool:
        """Mark delivered under the claim."""
        row = self._held(claimed)
        if row is None:
            return False
        row.status, row.delivered_at, row.last_status, row.claim = "delivered", now, status, None
        return True

    async def failed(
        self, claimed: Claimed, now: datetime, error: str, status: int | None, retry_at: datetime | None
    ) -> bool:
        """Pending again at retry_at, or dead."""
        row = self._held(claimed)
        if row is None:
            return False
        row.last_error, row.last_status, row.claim = error[:2000], status, None
        if retry_at is None:
            row.status, row.dead_at = "dead", now
        else:
            row.next_attempt_at = retry_at
        return True

    async def next_due(self, source: str) -> datetime | None:
        """Earliest next_attempt_at of the source's pending rows."""
        due = [r.next_attempt_at for r in self.rows.values() if r.status == "pending" and r.source == source]
        return min(due, default=None)

    async def dead(self, source: str | None = None, limit: int = 1000) -> list[CallbackRow]:
        """Dead rows, oldest death first."""
        rows = [r for r in self.rows.values() if r.status == "dead" and source in (None, r.source)]
        rows.sort(key=lambda r: (r.dead_at or r.created_at, r.id))
        return [r.public() for r in rows[:limit]]

    async def replay(self, now: datetime, ids: Sequence[str] = (), source: str | None = None) -> list[CallbackRow]:
        """Dead rows pending again now, attempts reset; returned as they were."""
        out = []
        for row in self.rows.values():
            if row.status == "dead" and (not ids or row.id in ids) and source in (None, row.source):
                out.append(row.public())
                row.status, row.attempts, row.next_attempt_at, row.dead_at, row.claim = "pending", 0, now, None, None
        return sorted(out, key=lambda r: (r.created_at, r.id))

    async def bury_unknown(self, known: Sequence[str], now: datetime) -> int:
        """Pending rows of unknown sources become dead."""
        buried = 0
        for row in self.rows.values():
            if row.status == "pending" and row.source not in known:
                row.status, row.dead_at, row.claim = "dead", now, None
                row.last_error = f"source {row.source} has no callback_url in sources.yaml"
                buried += 1
        return buried

    async def counts(self) -> dict[tuple[str, str], int]:
        """Pending and dead rows by (source, status)."""
        out: dict[tuple[str, str], int] = {}
        for row in self.rows.values():
            if row.status != "delivered":
                out[(row.source, row.status)] = out.get((row.source, row.status), 0) + 1
        return out

    async def purge(self, before: datetime) -> int:
        """Drop delivered rows and ended views older than `before`."""
        old = [
            i for i, r in self.rows.items() if r.status == "delivered" and r.delivered_at and r.delivered_at < before
        ]
        for callback_id in old:
            del self.rows[callback_id]
        for task_id in [t for t, at in self.closed_at.items() if at < before]:
            self.views.pop(task_id, None)
            del self.closed_at[task_id]
        return len(old)


def captured(task_id: str, source: str = "crm", **fields: Any) -> te.TaskCaptured:
    """A TaskCaptured with the least a test needs."""
    base: dict[str, Any] = {"external_id": f"EXT-{task_id}", "type": "claim", "title": "Water damage"}
    return te.TaskCaptured(task_id=task_id, source=source, **(base | fields))


def completed(task_id: str, **fields: Any) -> te.TaskCompleted:
    """A TaskCompleted by an agent."""
    base: dict[str, Any] = {"by": "agent", "agent_id": "alice", "wrap_up_code": "processed"}
    return te.TaskCompleted(task_id=task_id, **(base | fields))


def event(data: Payload, at: datetime = T0, event_id: str | None = None, key: str | None = None) -> Envelope:
    """An envelope on wr.tasks at a hand-set time."""
    task_key = key if key is not None else str(getattr(data, "task_id", "k"))
    return make_event(data, source="/test", key=task_key, subject=task_key, time=at, event_id=event_id)
