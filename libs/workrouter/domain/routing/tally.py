"""What the router holds, counted per queue as tasks move, so its metrics never walk the tasks (pure).

Per queue: waiting tasks by band (static, urgent), held tasks by state (offered, claimed, assigned,
parked), and the waiting tasks counted by the whole second of their wait clock (`enqueued_at`, kept
across RONA and transfers, so a task can come back with an old one). `Tally.move` is the one place a
task's state and band change, and a task enters and leaves the engine through it (state "" is "not
in the engine"), so the counts cannot drift from `Engine.tasks` (a property test recounts them after
every step).

The second index is a dict: second -> waiting tasks, a heap of its seconds (the oldest) and a bound
on the newest. The oldest wait is `now` minus the oldest second; "waited longer than T" sums the
seconds from the newest down to `now - T`, so a scrape costs the seconds within the longest
service-level threshold (at most ~300 per queue with the default 20/60/300 s, whatever the number
waiting), or every second when fewer have tasks.

Resolution: one second. Both figures treat a wait clock as the start of its second: the oldest wait
reads up to a second long, and a task up to a second short of a threshold counts as past it. With
whole-second clocks they equal the walk over every task they replace. Exact figures need the clocks
themselves: a sorted list of them per second (8 bytes a task) was built and measured, and cost about
7 µs a decision at 100k waiting (12-15 % of `make bench-router`, cache misses on the lists and their
floats), against about 1-2 µs for these counts; a dashboard of waits in seconds does not need it.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from math import floor, inf

from workrouter.domain.routing.buckets import Waiting

WAITING = "waiting"
HELD = ("offered", "claimed", "assigned", "parked")


def second_of(at: float) -> float:
    """The whole second `at` falls in (floor), as an int; -inf and +inf for clocks that have none (NaN: -inf)."""
    try:
        return floor(at)
    except (OverflowError, ValueError):
        return inf if at > 0 else -inf


class QueueTally:
    """One queue's counts, and its waiting tasks by the second of their wait clock."""

    __slots__ = ("held", "newest", "oldest", "seconds", "static", "urgent")

    def __init__(self) -> None:
        self.static = 0  # waiting, not yet in the urgent band
        self.urgent = 0  # waiting, in the urgent band
        self.held: dict[str, int] = dict.fromkeys(HELD, 0)
        self.seconds: dict[float, int] = {}  # second -> tasks waiting since then (whole seconds; +-inf)
        self.oldest: list[float] = []  # heap of the seconds, its top always live (emptied ones below it linger)
        self.newest: float = -inf  # no second is later (a bound: `late` brings it down to the newest)

    @property
    def waiting(self) -> int:
        """Tasks waiting in the queue."""
        return self.static + self.urgent

    def wait(self, at: float, urgent: bool) -> None:
        """Count a task that starts waiting, with its wait clock and band."""
        if urgent:
            self.urgent += 1
        else:
            self.static += 1
        second = second_of(at)
        seconds = self.seconds
        count = seconds.get(second)
        if count is None:
            seconds[second] = 1
            heapq.heappush(self.oldest, second)
            self.newest = max(self.newest, second)
        else:
            seconds[second] = count + 1

    def unwait(self, at: float, urgent: bool) -> None:
        """Count out a task that stops waiting, with its wait clock and band."""
        if urgent:
            self.urgent -= 1
        else:
            self.static -= 1
        second = second_of(at)
        seconds = self.seconds
        count = seconds[second]
        if count > 1:
            seconds[second] = count - 1
            return
        del seconds[second]
        oldest = self.oldest
        while oldest and oldest[0] not in seconds:
            heapq.heappop(oldest)
        if len(oldest) > 2 * len(seconds) + 64:
            self.oldest = sorted(seconds)

    def band(self, urgent: bool) -> None:
        """A waiting task moved into the urgent band (or out of it: re-queued with a later due time)."""
        step = 1 if urgent else -1
        self.urgent += step
        self.static -= step

    def oldest_wait(self, now: float) -> float:
        """How long the longest-waiting task has waited at `now`, from the start of its second (0.0: none waits)."""
        if not self.seconds:
            return 0.0
        return now - self.oldest[0]

    def late(self, now: float, thresholds: Sequence[float]) -> list[int]:
        """How many waiting tasks have waited longer than each threshold (seconds) at `now`, each from the
        start of its second. Costs the seconds from the newest down to the longest threshold's edge (or
        every second, when fewer have tasks)."""
        seconds = self.seconds
        if not seconds or not thresholds:
            return [0] * len(thresholds)
        edges = [_first_within(now, threshold) for threshold in thresholds]
        lo = min(edges)
        if self.newest - lo < len(seconds):
            keys: list[float] = [s for s in range(int(lo), int(self.newest) + 1) if s in seconds]
        else:
            keys = sorted(s for s in seconds if s >= lo)
        self.newest = keys[-1] if keys else lo - 1
        from_here = [0] * (len(keys) + 1)  # from_here[i]: the tasks in keys[i:]
        for i in range(len(keys) - 1, -1, -1):
            from_here[i] = from_here[i + 1] + seconds[keys[i]]
        waiting = self.static + self.urgent
        return [waiting - from_here[bisect_left(keys, edge)] for edge in edges]


def _first_within(now: float, threshold: float) -> float:
    """The first second whose tasks have waited `threshold` seconds or less at `now` (as `now - second` rounds)."""
    second = second_of(now - threshold)
    if second in (inf, -inf):
        return second
    while now - (second - 1) <= threshold:
        second -= 1
    while now - second > threshold:
        second += 1
    return second


class Tally:
    """Every queue's `QueueTally`, and the one place a task's state and band change."""

    __slots__ = ("queues",)

    def __init__(self, queues: Iterable[str]) -> None:
        self.queues = {queue: QueueTally() for queue in queues}

    def move(self, task: Waiting, state: str, urgent: bool = False) -> None:
        """Set the task's state (and, when it is waiting, its band), counting it out of the old and into the new.

        State "" is "not in the engine": a task enters with a move from "" and leaves with a move to "".
        """
        old = task.state
        tally = self.queues[task.queue]
        if old == WAITING:
            if state == WAITING:  # re-filed where it waits: only its band may change
                if urgent != task.is_urgent:
                    tally.band(urgent)
                    task.is_urgent = urgent
                return
            tally.unwait(task.enqueued_at, task.is_urgent)
        elif old:
            tally.held[old] -= 1
        if state == WAITING:
            tally.wait(task.enqueued_at, urgent)
            task.is_urgent = urgent
        elif state:
            tally.held[state] += 1
        task.state = state
