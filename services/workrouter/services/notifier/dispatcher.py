"""All sources' delivery loops side by side, plus housekeeping (gauges, purging old delivered callbacks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from workrouter.domain.notify.retry import Random, RetryPolicy
from workrouter.ports.callbacks import CallbackStore
from workrouter.runtime.loops import stop_if_cancelled
from workrouter.services.notifier import metrics
from workrouter.services.notifier.sender import Sender, Target
from workrouter.services.notifier.worker import SourceWorker

log = logging.getLogger(__name__)


class Dispatcher:
    """One SourceWorker per source that has a callback target; a slow or dead source delays only its own rows."""

    def __init__(
        self,
        targets: Mapping[str, Target],
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
        retention: timedelta = timedelta(days=7),
        housekeeping_seconds: float = 15.0,
    ) -> None:
        self._store, self._clock = store, clock
        self.sender = sender
        self._retention, self._every = retention, housekeeping_seconds
        self.workers: dict[str, SourceWorker] = {
            name: SourceWorker(
                target,
                store,
                sender,
                policy,
                clock=clock,
                rand=rand,
                concurrency=concurrency,
                poll_seconds=poll_seconds,
                lease_seconds=lease_seconds,
                grace_seconds=grace_seconds,
            )
            for name, target in targets.items()
        }

    def poke(self, source: str) -> None:
        """A callback of `source` was just enqueued."""
        worker = self.workers.get(source)
        if worker is not None:
            worker.poke()

    async def bury_unknown(self) -> int:
        """Pending callbacks of sources that no longer have a callback target become dead letters, saying why."""
        buried = await self._store.bury_unknown(sorted(self.workers), self._clock())
        if buried:
            log.warning(
                "%d pending callbacks belong to sources without a callback_url in sources.yaml; they are dead letters"
                " now (`workrouter callbacks dead`)",
                buried,
            )
        return buried

    async def refresh_gauges(self) -> None:
        """Set the pending and dead-letter gauges from the store (also run at each scrape of /metrics)."""
        counts = await self._store.counts()
        for source in set(self.workers) | {s for s, _ in counts}:
            metrics.PENDING.labels(source).set(counts.get((source, "pending"), 0))
            metrics.DEAD_LETTERS.labels(source).set(counts.get((source, "dead"), 0))

    async def housekeeping_once(self) -> None:
        """Refresh the gauges; delete delivered callbacks past the retention."""
        await self.refresh_gauges()
        purged = await self._store.purge(self._clock() - self._retention)
        if purged:
            log.info("purged %d callbacks delivered more than %s ago", purged, self._retention)

    async def _housekeeping(self) -> None:
        while True:
            stop_if_cancelled()
            try:
                await self.housekeeping_once()
            except Exception:
                stop_if_cancelled()
                log.exception("notifier housekeeping failed; trying again in %.0f s", self._every)
            await asyncio.sleep(self._every)

    async def run(self) -> None:
        """Run every source's loop and the housekeeping until cancelled."""
        async with asyncio.TaskGroup() as group:
            for name, worker in self.workers.items():
                group.create_task(worker.run(), name=f"callbacks-{name}")
            group.create_task(self._housekeeping(), name="callbacks-housekeeping")
