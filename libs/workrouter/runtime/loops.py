"""The two halves of every service's background loop: back off after failures, and sleep until due or poked.

The escalation timer loop, each notifier delivery loop and each router domain's timer loop run the same way:
do a round; after a failure wait longer each time (`Backoff`), after a success sleep until the next thing is
due or something new arrives (`sleep_until_poked`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


@dataclass
class Backoff:
    """How long to wait after consecutive failures: `first`, doubling, at most `cap` seconds."""

    first: float = 0.1
    cap: float = 5.0
    failures: int = 0  # in a row; 0 after a success

    def failed(self) -> float:
        """Count a failure; the seconds to wait before the next round."""
        self.failures += 1
        return min(self.first * 2.0 ** (self.failures - 1), self.cap)

    def succeeded(self) -> None:
        """A round succeeded: the next failure waits `first` again."""
        self.failures = 0


async def sleep_until_poked(poke: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `poke` to be set; True when it was (the caller clears it before its round).

    asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancel that meets a wake-up."""
    if seconds <= 0:
        return poke.is_set()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await poke.wait()
    return poke.is_set()


def stop_if_cancelled() -> None:
    """Re-raise the task's cancellation when a library swallowed it: redis-py 8.2 can answer a command cancelled
    mid-flight with ConnectionError, or with nothing at all, and a loop that logs and retries then never
    stops, and whoever awaits the cancelled task waits forever. Call it at the head of a long-running loop
    and in its `except Exception:`."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
