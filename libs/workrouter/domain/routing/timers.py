"""The engine's timers, in (time, creation) order, filed by the second they fall in (pure).

A queue of a million waiting tasks holds about a hundred thousand timers (tier widening, urgency,
offer and claim timeouts, after-work). One heap of them costs a pop of ~17 levels, each a cache
miss at that size: 7-9 µs, the largest share of a decision after the buckets' own heaps. Filed
by second instead, a timer costs a dict look-up and an append; when its second comes, that second's
timers are sorted once (they were mostly added in order, so the sort is about one comparison
each) and read in order. The order is exactly a heap's: by time, then by creation (`seq`).
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Callable, Iterator

Timer = tuple[float, int, int, str, int]  # (when, seq, kind, id, stamp)
_FIRST, _LAST = -(10**400), 10**400  # the seconds of -inf and +inf (and NaN: first)


def second_of(when: float) -> int:
    """The second a time is filed under: any non-decreasing map of time will do; truncation is one."""
    try:
        return int(when)
    except (OverflowError, ValueError):
        return _LAST if when > 0 else _FIRST


class Timers:
    """Timers, earliest first."""

    __slots__ = ("_count", "_current", "_current_second", "_pos", "_seconds", "_slots")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._slots: dict[int, list[Timer]] = {}  # second -> its timers, in the order they were added
        self._seconds: list[int] = []  # heap of the seconds in _slots
        self._current: list[Timer] = []  # the earliest second's timers, sorted, read from _pos on
        self._current_second: int | None = None  # every second in _slots is later than this one
        self._pos = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Timer]:
        """Every pending timer, in no particular order."""
        yield from self._current[self._pos :]
        for slot in self._slots.values():
            yield from slot

    def push(self, timer: Timer) -> None:
        """Add a timer."""
        self._count += 1
        second = second_of(timer[0])
        current = self._current_second
        if second == current:
            insort(self._current, timer, lo=self._pos)
            return
        if current is not None and second < current:
            self._shelve()
        slot = self._slots.get(second)
        if slot is None:
            self._slots[second] = [timer]
            heapq.heappush(self._seconds, second)
        else:
            slot.append(timer)

    def first(self) -> Timer | None:
        """The earliest timer (left in place), or None."""
        if self._pos >= len(self._current):
            if not self._seconds:
                self._current, self._pos, self._current_second = [], 0, None
                return None
            second = heapq.heappop(self._seconds)
            current = self._slots.pop(second)
            current.sort()
            self._current, self._pos, self._current_second = current, 0, second
        return self._current[self._pos]

    def pop(self) -> Timer:
        """Remove and return the earliest timer; call after `first` gave one."""
        timer = self._current[self._pos]
        self._pos += 1
        self._count -= 1
        return timer

    def keep(self, live: Callable[[Timer], bool]) -> None:
        """Drop the timers `live` says are dead."""
        kept = [t for t in self if live(t)]
        self._reset()
        for timer in kept:
            self.push(timer)

    def _shelve(self) -> None:
        """A timer came for a second before the current one: file the current second's unread timers again."""
        rest, second = self._current[self._pos :], self._current_second
        if rest and second is not None:
            self._slots[second] = rest
            heapq.heappush(self._seconds, second)
        self._current, self._pos, self._current_second = [], 0, None
