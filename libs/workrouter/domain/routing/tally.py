"""What the router holds, counted per queue as tasks move, so its metrics never walk the tasks (pure).

Per queue: waiting tasks by band (static, urgent), held tasks by state (offered, claimed, assigned,
parked), and an index of the waiting tasks' wait clocks (`enqueued_at`) by whole second. `Tally.move`
is the one place a task's state and band change, and a task enters and leaves the engine through it
(state "" is "not in the engine"), so the counts cannot drift from `Engine.tasks` (a property test
recounts them after every step).

The wait-clock index is a dict: second -> the sorted `enqueued_at` of the tasks waiting since that
second, a heap of its seconds and a bound on the newest. The oldest wait is the head of the oldest second.
"Waited longer than T" is the tasks older than `now - T`: every second more than a second away
from that edge is all late or all not, so a scrape counts the seconds between the newest and the
edge of the longest threshold (a few hundred per queue with the default 20/60/300 s), not the
tasks, and looks at single tasks only in the two or three seconds around each edge. That is the
resolution trade-off: a count per second alone (no per-task entry) would cost nothing per task but
report the oldest wait up to a second long and misplace the tasks within a second of a threshold;
the sorted list per second keeps both exact, as the walk over every task they replace computed
them, for one list slot (8 bytes) per waiting task. A second whose tasks all queued together (a
bulk load) is a long list: adding at its end and removing the equal last entry stay O(1), a task
leaving from its middle moves the rest of it (a memmove, 8 bytes per task of that second).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from math import floor

from workrouter.domain.routing.buckets import Waiting

WAITING = "waiting"
HELD = ("offered", "claimed", "assigned", "parked")
_FIRST, _LAST = -(10**400), 10**400  # the seconds of -inf and +inf (and NaN: first)


def second_of(at: float) -> int:
    """The whole second `at` falls in (floor: a second holds the times from it up to the next)."""
    try:
        return floor(at)
    except (OverflowError, ValueError):
        return _LAST if at > 0 else _FIRST


class QueueTally:
    """One queue's counts and the wait clocks of its waiting tasks, by second."""

    __slots__ = ("held", "newest", "oldest", "seconds", "static", "urgent")

    def __init__(self) -> None:
        self.static = 0  # waiting, not yet in the urgent band
        self.urgent = 0  # waiting, in the urgent band
        self.held: dict[str, int] = dict.fromkeys(HELD, 0)
        self.seconds: dict[int, list[float]] = {}  # second -> enqueued_at of the tasks waiting since then, sorted
        self.oldest: list[int] = []  # heap of the seconds, its top always live (emptied ones below it linger)
        self.newest = _FIRST  # no second is later (a bound: `late` brings it down to the newest)

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
        same = self.seconds.get(second)
        if same is None:
            self.seconds[second] = [at]
            heapq.heappush(self.oldest, second)
            self.newest = max(self.newest, second)
        elif at >= same[-1]:
            same.append(at)
        else:
            insort(same, at)

    def unwait(self, at: float, urgent: bool) -> None:
        """Count out a task that stops waiting, with its wait clock and band."""
        if urgent:
            self.urgent -= 1
        else:
            self.static -= 1
        second = second_of(at)
        same = self.seconds[second]
        if len(same) > 1:
            del same[bisect_right(same, at) - 1]  # the last equal one: O(1) when a whole second queued together
            return
        del self.seconds[second]
        self.emptied()

    def band(self, urgent: bool) -> None:
        """A waiting task moved into the urgent band (or out of it: re-queued with a later due time)."""
        step = 1 if urgent else -1
        self.urgent += step
        self.static -= step

    def emptied(self) -> None:
        """A second lost its last task: keep the heap's top live; rebuild it when emptied seconds crowd it."""
        seconds, oldest = self.seconds, self.oldest
        while oldest and oldest[0] not in seconds:
            heapq.heappop(oldest)
        if len(oldest) > 2 * len(seconds) + 64:
            self.oldest = sorted(seconds)

    def oldest_wait(self, now: float) -> float:
        """How long the longest-waiting task has waited at `now` (0.0: none waits)."""
        if not self.seconds:
            return 0.0
        return now - self.seconds[self.oldest[0]][0]

    def late(self, now: float, thresholds: Sequence[float]) -> list[int]:
        """How many waiting tasks have waited longer than each threshold (seconds) at `now`, exactly.

        Costs the seconds from the newest down to the longest threshold's edge (or every second, when
        there are fewer), and a binary search in the few seconds at each edge.
        """
        seconds = self.seconds
        if not seconds or not thresholds:
            return [0] * len(thresholds)
        edges = [second_of(now - threshold) for threshold in thresholds]  # the second `now - threshold` is in
        lo = min(edges) - 1  # every task in a second before this one is late by every threshold
        if self.newest - lo < len(seconds):
            keys = [s for s in range(lo, self.newest + 1) if s in seconds]
        else:
            keys = sorted(s for s in seconds if s >= lo)
        self.newest = keys[-1] if keys else lo - 1
        from_here = [0] * (len(keys) + 1)  # from_here[i]: the tasks in keys[i:]
        for i in range(len(keys) - 1, -1, -1):
            from_here[i] = from_here[i + 1] + len(seconds[keys[i]])
        waiting = self.static + self.urgent
        late = []
        for threshold, edge in zip(thresholds, edges, strict=True):
            # seconds from edge + 2 on are all within the threshold, those up to edge - 2 all beyond it (float
            # rounding moves `now - at` by far less than a second); the three between are looked into
            within = from_here[bisect_left(keys, edge + 2)]
            for second in (edge - 1, edge, edge + 1):
                same = seconds.get(second)
                if same is not None:
                    within += _within(same, now, threshold)
            late.append(waiting - within)
        return late


def _within(same: list[float], now: float, threshold: float) -> int:
    """How many of these sorted wait clocks have waited `threshold` seconds or less at `now`."""
    return len(same) - bisect_left(same, True, key=lambda at: now - at <= threshold)


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
