"""One source's delivery loop: claim what is due, send it, write the outcome; never wait on another source.

At most `concurrency` attempts of the source are in flight; the loop claims only as many rows as it
has free slots, so a claimed row is never left waiting in memory while its lease runs out. Between
rounds it sleeps until the source's next callback is due, a slot frees, or `poke` says one was just
enqueued (at most `poll_seconds`, so rows enqueued or replayed by another process are seen).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from workrouter.domain.notify.retry import Random, RetryPolicy
from workrouter.ports.callbacks import CallbackStore, Claimed
from workrouter.runtime.loops import Backoff, sleep_until_poked, stop_if_cancelled
from workrouter.services.notifier import metrics
from workrouter.services.notifier.sender import Attempt, Sender, Target

log = logging.getLogger(__name__)
MIN_SLEEP_SECONDS = 0.005
MAX_BACKOFF_SECONDS = 5.0


class SourceWorker:
    """Delivers the callbacks of one source."""

    def __init__(
        self,
        target: Target,
        store: CallbackStore,
        sender: Sender,
        policy: RetryPolicy,
        *,
        clock: Callable[[], datetime],
        rand: Random,
        concurrency: int = 4,
        poll_seconds: float = 1.0,
        lease_seconds: float = 30.0,
        grace_seconds: float = 5.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.target = target
        self._store, self._sender, self._policy = store, sender, policy
        self._clock, self._rand = clock, rand
        self._concurrency, self._poll, self._lease = concurrency, poll_seconds, lease_seconds
        self._grace = grace_seconds
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.backoff = Backoff(0.1, MAX_BACKOFF_SECONDS)  # after failed rounds (store errors)

    @property
    def busy(self) -> int:
        """Attempts in flight now."""
        return len(self._inflight)

    def poke(self) -> None:
        """A callback of this source was just enqueued: look now."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim as many due callbacks as there are free slots and start sending them; return how many."""
        free = self._concurrency - len(self._inflight)
        if free <= 0:
            return 0
        claimed = await self._store.claim(self.target.source, self._clock(), free, self._lease)
        for row in claimed:
            task = asyncio.create_task(self.deliver(row), name=f"callback-{row.id}")
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return len(claimed)

    async def drain(self) -> None:
        """Wait for every attempt in flight to finish (tests, shutdown)."""
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def run(self) -> None:
        """Deliver forever; log and back off on store errors, never stop (cancel the task to stop)."""
        try:
            while True:
                stop_if_cancelled()
                self._wake.clear()
                try:
                    claimed = await self.run_once()
                    delay = 0.0 if claimed and self.busy < self._concurrency else await self._idle_delay()
                except Exception:
                    stop_if_cancelled()
                    delay = self.backoff.failed()
                    failures = self.backoff.failures
                    log.exception("callbacks of %s: the store failed (%d in a row)", self.target.source, failures)
                else:
                    self.backoff.succeeded()
                await sleep_until_poked(self._wake, delay)
        finally:  # stopping: let attempts in flight end (up to the grace time), then cut them off
            if self._inflight:
                _, unfinished = await asyncio.wait(set(self._inflight), timeout=self._grace)
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)

    async def _idle_delay(self) -> float:
        if self.busy >= self._concurrency:
            return self._poll  # a finishing attempt wakes the loop
        due = await self._store.next_due(self.target.source)
        if due is None:
            return self._poll
        return min(max((due - self._clock()).total_seconds(), MIN_SLEEP_SECONDS), self._poll)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()

    async def deliver(self, row: Claimed) -> None:
        """One attempt and its outcome written back (a lost lease only logs: the row is someone else's now)."""
        attempt = await self._sender.send(self.target, row)
        metrics.LATENCY.labels(row.source).observe(attempt.seconds)
        try:
            kept = await self._record(row, attempt)
        except Exception:
            # the lease runs out and the row is sent again, with the same key and body
            log.exception("callback %s: could not record the outcome of attempt %d", row.id, row.attempts)
            return
        if not kept:
            log.warning("callback %s: lease lost before attempt %d ended; outcome not recorded", row.id, row.attempts)

    async def _record(self, row: Claimed, attempt: Attempt) -> bool:
        now = self._clock()
        if attempt.ok:
            metrics.CALLBACKS.labels(row.source, "delivered").inc()
            assert attempt.status is not None
            return await self._store.delivered(row, now, attempt.status)
        retry_at = self._policy.retry_at(row.attempts, now, self._rand, attempt.retry_after)
        if retry_at is None:
            metrics.CALLBACKS.labels(row.source, "dead").inc()
            log.warning(
                "callback %s (%s %s of task %s) gave up after %d attempts: %s",
                row.id, row.source, row.event, row.task_id, row.attempts, attempt.error,
            )  # fmt: skip
        else:
            metrics.CALLBACKS.labels(row.source, "retry").inc()
            log.debug("callback %s attempt %d failed (%s); next at %s", row.id, row.attempts, attempt.error, retry_at)
        return await self._store.failed(row, now, attempt.error, attempt.status, retry_at)
