"""Waiting tasks, grouped into buckets of tasks that exactly the same agents may take (pure).

A bucket holds the tasks of one queue with the same skill needs in the same tier (or the tasks
preferring one agent). Inside a bucket every task is eligible for the same agents, so the bucket's
best task is the only one an agent needs to look at: choosing a task costs one look per bucket the
agent is eligible for, however many tasks wait.

Order inside a bucket is priority, then age, then arrival. Priority changes with time only through
urgency (docs/prioritisation.md): a task not yet urgent has a constant score; an urgent task's
score is `urgent + rate * hours(now)` — the same `rate * hours(now)` for all of them — so each of
the two groups keeps its order forever and sits in its own heap. The bucket's best task is the
better of the two heads. Entries are never removed from a heap in place: a task that leaves gets a
new stamp and stale entries are dropped when they reach the top.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from workrouter.domain.routing.model import SkillNeeds

# (-score, enqueued_at, seq, stamp, task)
Entry = tuple[float, float, int, int, "Waiting"]


@dataclass(slots=True, eq=False)
class Waiting:
    """A task the router holds: what it needs, how it ranks, and where it is now."""

    task_id: str
    queue: str
    channel: str
    needs: SkillNeeds
    enqueued_at: float  # epoch seconds; the wait clock, kept across RONA and transfers
    seq: int  # arrival order, the last tie-break
    static: float  # score before the urgent band
    urgent: float | None  # time-invariant score inside the urgent band (None: no due time)
    urgent_from: float | None  # epoch seconds the urgent band starts
    preferred: tuple[str, ...] = ()
    tier: int = 0  # -1 while only its preferred agents are tried
    is_urgent: bool = False
    stamp: int = 0  # which heap entries are current; bumped whenever the task moves
    state: str = "waiting"  # waiting | offered | assigned | claimed | parked
    agent_id: str | None = None
    assigned_at: float = 0.0
    buckets: list[Bucket] = field(default_factory=list)

    def score(self, hours_now: float, rate: float) -> float:
        """The priority now (hours_now = epoch hours)."""
        if self.is_urgent and self.urgent is not None:
            return self.urgent + rate * hours_now
        return self.static


class Bucket:
    """Tasks of one queue, skill needs and tier (or preferring one agent), best first."""

    __slots__ = (
        "_static",
        "_urgent",
        "agent_id",
        "channel",
        "fresh",
        "needs",
        "push",
        "queue",
        "size",
        "tier",
        "top_static",
        "top_urgent",
    )

    def __init__(
        self, queue: str, channel: str, needs: SkillNeeds, tier: int, *, agent_id: str | None = None, push: bool = True
    ):
        self.queue = queue
        self.channel = channel
        self.needs = needs
        self.tier = tier
        self.agent_id = agent_id
        self.push = push
        self._static: list[Entry] = []
        self._urgent: list[Entry] = []
        self.top_static: Entry | None = None  # cached live heads; _fresh says whether they can be trusted
        self.top_urgent: Entry | None = None
        self.fresh = True
        self.size = 0  # live tasks

    def add(self, task: Waiting) -> None:
        """File the task under its current stamp."""
        if task.is_urgent and task.urgent is not None:
            entry: Entry = (-task.urgent, task.enqueued_at, task.seq, task.stamp, task)
            heapq.heappush(self._urgent, entry)
            if self.fresh and (self.top_urgent is None or entry[:3] < self.top_urgent[:3]):
                self.top_urgent = entry
        else:
            entry = (-task.static, task.enqueued_at, task.seq, task.stamp, task)
            heapq.heappush(self._static, entry)
            if self.fresh and (self.top_static is None or entry[:3] < self.top_static[:3]):
                self.top_static = entry
        self.size += 1

    def discard(self, task: Waiting) -> None:
        """Count one task as gone (its entry is dropped lazily); call before the task's stamp changes."""
        self.size -= 1
        top_s, top_u = self.top_static, self.top_urgent
        if (top_s is not None and top_s[4] is task) or (top_u is not None and top_u[4] is task):
            self.fresh = False

    def _head(self, heap: list[Entry]) -> Entry | None:
        while heap:
            entry = heap[0]
            if entry[3] == entry[4].stamp:
                return entry
            heapq.heappop(heap)
        return None

    def refresh(self) -> None:
        """Find the live heads again after the cached one left."""
        self.top_static = self._head(self._static)
        self.top_urgent = self._head(self._urgent)
        self.fresh = True

    def best(self, hours_now: float, rate: float) -> tuple[float, float, int, Waiting] | None:
        """(score now, enqueued_at, seq, task) of the best task, or None when empty."""
        if self.size <= 0:
            return None
        if not self.fresh:
            self.refresh()
        s, u = self.top_static, self.top_urgent
        if u is None:
            return None if s is None else (-s[0], s[1], s[2], s[4])
        u_score = -u[0] + rate * hours_now
        if s is None or u_score > -s[0] or (u_score == -s[0] and (u[1], u[2]) < (s[1], s[2])):
            return (u_score, u[1], u[2], u[4])
        return (-s[0], s[1], s[2], s[4])

    def ranked(self, hours_now: float, rate: float, limit: int) -> list[tuple[float, float, int, Waiting]]:
        """Up to `limit` live tasks, best first (for workbin listings; O(limit log n) while few are stale)."""
        rows = [(-e[0], e[1], e[2], e[4]) for e in _live_smallest(self._static, limit)]
        rows += [(-e[0] + rate * hours_now, e[1], e[2], e[4]) for e in _live_smallest(self._urgent, limit)]
        rows.sort(key=lambda r: (-r[0], r[1], r[2]))
        return rows[:limit]

    def compact(self) -> None:
        """Drop stale entries when they outnumber live ones (keeps memory proportional to waiting tasks)."""
        for name in ("_static", "_urgent"):
            heap: list[Entry] = getattr(self, name)
            live = [e for e in heap if e[3] == e[4].stamp]
            heapq.heapify(live)
            setattr(self, name, live)

    def stale(self) -> int:
        """How many heap entries are stale."""
        return len(self._static) + len(self._urgent) - self.size


def _live_smallest(heap: list[Entry], limit: int) -> list[Entry]:
    k = limit + 8
    while True:
        live = [e for e in heapq.nsmallest(k, heap) if e[3] == e[4].stamp]
        if len(live) >= limit or k >= len(heap):
            return live[:limit]
        k *= 4
