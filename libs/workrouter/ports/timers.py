"""The escalation service's durable state: one record per open task and the task's timers.

A timer is identified by (task_id, kind); at most one timer of each kind exists per task. Its
`ident` names the instance: a timer saved again with the same ident is the same timer (a fired
one stays fired, its due time is kept), a different ident replaces it with a new pending timer.
So a timer fires at most once per (task, kind, ident), and the ident carries the task version
the timer was planned from: when the task moves on, the plan changes the ident or drops the kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from workrouter.domain.escalation.timer import Timer


@dataclass(frozen=True, slots=True)
class TimerCounts:
    """How many timers wait and how many have fired (and are kept while their task is open)."""

    pending: int
    fired: int


class EscalationStore(Protocol):
    """Task records and their timers, changed together."""

    async def migrate(self) -> None:
        """Create the tables and indexes if they do not exist."""
        ...

    async def load(self, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records of the given tasks that exist (task_id -> record)."""
        ...

    async def save(self, task_id: str, record: dict[str, Any] | None, timers: Sequence[Timer]) -> None:
        """In one transaction: replace the task's record and its whole timer set.

        `record=None` deletes the record and every timer of the task (`timers` must then be empty).
        Kinds not in `timers` are deleted; a kind saved with its current ident is left as it is;
        a new ident replaces the timer, pending again at its new due time.
        """
        ...

    async def save_many(self, items: Sequence[tuple[str, dict[str, Any] | None, Sequence[Timer]]]) -> None:
        """`save` for many tasks in one transaction (bulk loads, batches of events)."""
        ...

    def firing(self, now: datetime, limit: int) -> AbstractAsyncContextManager[list[Timer]]:
        """The pending timers due at or before `now`, earliest first, at most `limit`.

        They are locked against other firers (and against `save` of the same task) for the
        block; leaving it normally marks them fired; an exception leaves them pending, to fire again.
        """
        ...

    async def next_due(self) -> datetime | None:
        """The due time of the earliest pending timer, or None."""
        ...

    async def counts(self) -> TimerCounts:
        """Pending and fired timers."""
        ...
