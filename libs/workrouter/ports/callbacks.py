"""The notifier's durable state: each task's view, and the outbox of callbacks with their attempts.

A callback row is keyed by its idempotency key (the id of the event that caused it) and is
`pending` until a 2xx answer makes it `delivered`, or the retry limit makes it `dead`. Sending
claims a pending row with a lease: the row is due again only when the lease runs out, so two
notifier instances never send one row at once, and a crashed sender's rows are sent again later
(under the same key, with the same body).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from workrouter.domain.notify.callback import NewCallback

Status = Literal["pending", "delivered", "dead"]


@dataclass(frozen=True, slots=True)
class Change:
    """What folding one event changed: the task's new view (None: leave it), whether it ended, its callback."""

    view: dict[str, Any] | None
    closed: bool
    callback: NewCallback | None


Step = Callable[[dict[str, Any] | None], Change]
"""Given the task's stored view (or None), what the event changes."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A callback claimed for one attempt; `claim` proves the lease when the outcome is written."""

    id: str
    source: str
    task_id: str
    event: str
    body: bytes
    attempts: int  # including this one
    claim: str


@dataclass(frozen=True, slots=True)
class CallbackRow:
    """A callback as operators see it (`workrouter callbacks dead`)."""

    id: str
    source: str
    task_id: str
    event: str
    status: Status
    attempts: int
    last_error: str | None
    last_status: int | None
    created_at: datetime
    dead_at: datetime | None


class CallbackStore(Protocol):
    """Task views and the callback outbox, changed together."""

    async def migrate(self) -> None:
        """Create the tables and indexes if they do not exist."""
        ...

    async def apply(self, task_id: str, step: Step, now: datetime) -> NewCallback | None:
        """In one transaction (the task's row locked): run `step` on the stored view, save what it says, and
        insert its callback unless one with that id exists; return the callback if it was inserted."""
        ...

    async def apply_many(self, steps: Sequence[tuple[str, Step]], now: datetime) -> list[NewCallback]:
        """`apply` for each (task, step) in order, all in one transaction; the callbacks that were inserted."""
        ...

    async def enqueue(self, callback: NewCallback, now: datetime) -> bool:
        """Insert a callback due now unless one with that id exists; True if inserted."""
        ...

    async def claim(self, source: str, now: datetime, limit: int, lease_seconds: float) -> list[Claimed]:
        """Up to `limit` due pending callbacks of `source`, oldest due first, leased until now + lease_seconds."""
        ...

    async def delivered(self, claimed: Claimed, now: datetime, status: int) -> bool:
        """Mark delivered; False if the lease was lost (another claim holds the row now)."""
        ...

    async def failed(
        self, claimed: Claimed, now: datetime, error: str, status: int | None, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: pending again at `retry_at`, dead when it is None; False if the lease was lost."""
        ...

    async def next_due(self, source: str) -> datetime | None:
        """When the earliest pending callback of `source` is due (or its lease ends), or None."""
        ...

    async def dead(self, source: str | None = None, limit: int = 1000) -> list[CallbackRow]:
        """Dead callbacks (of one source, or all), oldest first."""
        ...

    async def replay(self, now: datetime, ids: Sequence[str] = (), source: str | None = None) -> list[CallbackRow]:
        """Dead callbacks with these ids (or of `source`, or all when neither is given) pending again now, with
        their attempts reset; returns them as they were before (dead, with their attempts and last error)."""
        ...

    async def bury_unknown(self, known: Sequence[str], now: datetime) -> int:
        """Make pending callbacks of sources not in `known` dead (their target is gone); return how many."""
        ...

    async def counts(self) -> dict[tuple[str, str], int]:
        """Pending and dead callbacks by (source, status)."""
        ...

    async def purge(self, before: datetime) -> int:
        """Delete callbacks delivered before `before` and views of tasks that ended before it; return callbacks."""
        ...
