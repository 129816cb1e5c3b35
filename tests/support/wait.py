"""Poll for an outcome with a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


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
