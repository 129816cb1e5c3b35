"""Poll for an outcome with a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable


async def wait_until(
    predicate: Callable[[], bool], *, timeout: float = 30.0, interval: float = 0.02, what: str = "condition"
) -> None:
    """Return as soon as `predicate()` holds; fail with `what` if it does not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_until_async(
    predicate: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, interval: float = 0.02, what: str = "condition"
) -> None:
    """`wait_until` for a predicate that must await (a Redis read, say)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def paced(count: int, per_second: float) -> AsyncIterator[int]:
    """Yield 0..count-1 on a fixed schedule: an offered load at `per_second`, whatever each step costs.

    Not a wait for an outcome: step i is due at start + i / per_second, so slow steps are caught up.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(count):
        delay = start + i / per_second - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield i


async def every(period: float, stop: asyncio.Event) -> AsyncIterator[None]:
    """Yield once per `period` seconds until `stop` is set (a sampling loop that ends the moment it is told)."""
    while not stop.is_set():
        yield
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(period):
                await stop.wait()
