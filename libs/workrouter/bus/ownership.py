"""Which partitions of its topic a subscription owns, and the gate that keeps its handler behind `on_assign`.

Both bus adapters use it the same way: `assign()` when partitions arrive (on_assign then runs in
the background, retried until it succeeds), `admit()` around every handler call, `revoke()` when
partitions go (no new handler starts, the running ones finish, pending offsets are settled, then
on_revoke), and `close()` when the bus stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.port import PartitionsCallback

log = logging.getLogger(__name__)


class PartitionOwnership:
    """One subscription's owned partitions, its on_assign/on_revoke calls, and the handler gate."""

    def __init__(
        self,
        topic: str,
        group: str,
        *,
        on_assign: PartitionsCallback | None,
        on_revoke: PartitionsCallback | None,
        policy: DeliveryPolicy,
    ) -> None:
        self._what = f"{group}:{topic}"
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._policy = policy
        self._owned: frozenset[int] = frozenset()
        self._open = asyncio.Event()  # handlers may run: on_assign has finished
        self._closed = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._announcing: asyncio.Task[None] | None = None

    @property
    def owned(self) -> frozenset[int]:
        """The partitions owned now (on_assign may still be running for them)."""
        return self._owned

    def assign(self, partitions: set[int]) -> None:
        """Own `partitions`; handlers wait until on_assign has returned for them."""
        if self._announcing is not None:  # assigned again without a revoke: the new set wins
            self._announcing.cancel()
        self._closed = False
        self._open.clear()
        self._owned = frozenset(partitions)
        self._announcing = asyncio.create_task(self._announce(set(partitions)), name=f"on-assign:{self._what}")

    async def _announce(self, partitions: set[int]) -> None:
        """Call on_assign until it succeeds (a revoke cancels it), then open the gate."""
        tries = 0
        while partitions and self._on_assign is not None:
            tries += 1
            try:
                await self._on_assign(partitions)
                break
            except Exception:
                log.exception("%s: on_assign(%s) failed (try %d); its handlers wait", self._what, partitions, tries)
                await asyncio.sleep(self._policy.backoff(tries))
        self._open.set()

    @contextlib.asynccontextmanager
    async def admit(self, partition: int) -> AsyncIterator[bool]:
        """Wait until handlers may run; yields False if `partition` is no longer owned (skip the message)."""
        while not self._open.is_set():
            await self._open.wait()
        if self._closed or partition not in self._owned:
            yield False
            return
        async with self._running():
            yield True

    @contextlib.asynccontextmanager
    async def admit_many(self, partitions: set[int]) -> AsyncIterator[frozenset[int]]:
        """`admit` for a batch spanning partitions: yields those still owned (empty: skip the batch)."""
        while not self._open.is_set():
            await self._open.wait()
        owned = frozenset() if self._closed else self._owned & partitions
        if not owned:
            yield owned
            return
        async with self._running():
            yield owned

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        """Count a handler as in flight, so a revoke waits for it."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def revoke(
        self, *, settle: Callable[[], Awaitable[None]] | None = None, drain_timeout: float | None = None
    ) -> set[int]:
        """Admit no new handler, stop an unfinished on_assign, let running handlers finish, `settle`, on_revoke."""
        self._open.clear()
        if self._announcing is not None:
            self._announcing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcing
            self._announcing = None
        try:
            await asyncio.wait_for(self._idle.wait(), drain_timeout)
        except TimeoutError:
            log.warning("%s: a handler is still running after %.0f s; revoking anyway", self._what, drain_timeout)
        if settle is not None:
            await settle()
        partitions, self._owned = set(self._owned), frozenset()
        if partitions and self._on_revoke is not None:
            try:
                await self._on_revoke(partitions)
            except Exception:
                log.exception("%s: on_revoke(%s) failed", self._what, partitions)
        return partitions

    def close(self) -> None:
        """The bus is stopping: release handlers waiting at the gate (they skip their message)."""
        self._closed = True
        self._open.set()
