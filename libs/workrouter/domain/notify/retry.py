"""When to try a failed callback again, and when to give up (pure; randomness and time are parameters).

Exponential backoff with full jitter: before attempt n+1 the wait is uniform in
[0, min(cap, base * 2**(n-1))), so many callbacks that failed together (a source restarting)
do not all come back at once. A `Retry-After` the source sent is honoured, up to the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

Random = Callable[[], float]
"""A uniform random number in [0, 1), e.g. random.random."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts a callback gets and how long to wait between them."""

    max_attempts: int = 20
    base_seconds: float = 1.0
    cap_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 < self.base_seconds <= self.cap_seconds:
            raise ValueError(
                f"need 0 < base_seconds <= cap_seconds, got base {self.base_seconds}, cap {self.cap_seconds}"
            )

    def ceiling(self, attempts: int) -> float:
        """The longest wait after `attempts` failed attempts: min(cap, base * 2**(attempts-1))."""
        exponent = min(max(attempts - 1, 0), 64)  # 2**64 * base is past any cap; avoids huge floats
        return min(self.cap_seconds, self.base_seconds * 2.0**exponent)

    def delay(self, attempts: int, rand: Random, retry_after: float | None = None) -> float:
        """Seconds to wait after `attempts` failed attempts (full jitter; at least `retry_after`, within the cap)."""
        wait = self.ceiling(attempts) * rand()
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.cap_seconds))
        return wait

    def retry_at(self, attempts: int, now: datetime, rand: Random, retry_after: float | None = None) -> datetime | None:
        """When to try again after `attempts` failed attempts, or None: give up (dead letter)."""
        if attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay(attempts, rand, retry_after))
