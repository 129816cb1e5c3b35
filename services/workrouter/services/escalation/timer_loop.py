"""The loop that fires due timers from the escalation store.

It never holds pending timers in memory: it asks the store for what is due, batch by batch, and for
the earliest due time, then sleeps until then (at most `max_sleep_seconds`, so timers saved by
another process are seen), or until `poke` says a timer due sooner was just saved. `fire` runs
inside the store's firing block: if it raises, the batch stays pending and is retried after a backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from workrouter.domain.escalation.timer import Timer
from workrouter.ports.timers import EscalationStore
from workrouter.runtime.loops import Backoff, sleep_until_poked, stop_if_cancelled

log = logging.getLogger(__name__)

# Never sleep less: timers falling due within it fire together in one block, and a due timer left unfired
# (locked by another firer until its block ends) is looked at again soon without spinning.
MIN_SLEEP_SECONDS = 0.01
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0


class TimerLoop:
    """Fires due timers through `fire`, sleeping in between until the next one is due."""

    def __init__(
        self,
        store: EscalationStore,
        fire: Callable[[list[Timer]], Awaitable[None]],
        *,
        clock: Callable[[], datetime],
        batch: int = 500,
        max_sleep_seconds: float = 1.0,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self._store = store
        self._fire = fire
        self._clock = clock
        self._batch = batch
        self._max_sleep = max_sleep_seconds
        self._wake = asyncio.Event()
        self._wake_at: datetime | None = None  # while sleeping: when the loop plans to look again
        self._poked: datetime | None = None  # while busy: the earliest due time poked meanwhile
        self.backoff = Backoff(FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS)

    @property
    def planned_wake(self) -> datetime | None:
        """When the sleeping loop will look at the store again; None while it works or backs off."""
        return self._wake_at

    def poke(self, due_at: datetime) -> None:
        """A timer due at `due_at` was just saved: wake early if that is before the planned wake-up."""
        if self._wake_at is None:
            self._poked = due_at if self._poked is None else min(self._poked, due_at)
        elif due_at < self._wake_at:
            self._wake.set()

    async def run_once(self) -> int:
        """Fire every timer due now, one firing block per batch; return how many fired."""
        fired = 0
        while True:
            async with self._store.firing(self._clock(), self._batch) as timers:
                if timers:
                    await self._fire(timers)
            fired += len(timers)
            if len(timers) < self._batch:
                return fired

    async def run(self) -> None:
        """Fire due timers forever; log and back off on errors, never stop (cancel the task to stop)."""
        while True:
            stop_if_cancelled()
            self._wake_at, self._poked = None, None
            try:
                fired = await self.run_once()
                wake_at = await self._plan_wake()
            except Exception:
                stop_if_cancelled()
                wait = self.backoff.failed()
                log.exception("firing timers failed (%d in a row); retrying in %.1f s", self.backoff.failures, wait)
                await asyncio.sleep(wait)
                continue
            self.backoff.succeeded()
            if fired:
                log.debug("fired %d timers", fired)
            await self._sleep_until(wake_at)

    async def _plan_wake(self) -> datetime:
        latest = self._clock() + timedelta(seconds=self._max_sleep)
        due = await self._store.next_due()
        return latest if due is None else min(due, latest)

    async def _sleep_until(self, wake_at: datetime) -> None:
        if self._poked is not None and self._poked < wake_at:
            return  # saved after the store was asked for the next due time, and due before it
        self._wake.clear()
        self._wake_at = wake_at
        await sleep_until_poked(self._wake, max((wake_at - self._clock()).total_seconds(), MIN_SLEEP_SECONDS))
