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

The heads are kept current as tasks come and go (a head that leaves is replaced at once), and the
buckets of a queue share a `Heads` index: the heads of all of them, in order, so that an agent's
best task in a queue is the first head of a bucket it may take from (placement.py), not the best of
a look at every bucket.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from dataclasses import dataclass

from workrouter.domain.routing.model import SkillNeeds

# (-score, enqueued_at, seq, stamp, task)
Entry = tuple[float, float, int, int, "Waiting"]
# a head in a queue's index: the entry and its bucket. Stamps are unique to one filing of one task, and a
# task filed in an indexed bucket is in that one only, so two keys never compare as far as the bucket.
HeadKey = tuple[float, float, int, int, "Waiting", "Bucket"]
MAX_SHARED_SCORES = 4096


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
    state: str = ""  # waiting | offered | assigned | claimed | parked; "" until it enters the engine (tally.py)
    agent_id: str | None = None
    assigned_at: float = 0.0
    # the bucket it is filed in, or the buckets of its preferred agents (a tuple), or None when not filed;
    # one reference rather than a list per task: less memory and one object fewer for the collector
    where: Bucket | tuple[Bucket, ...] | None = None

    @property
    def buckets(self) -> list[Bucket]:
        """The buckets the task is filed in now."""
        where = self.where
        if where is None:
            return []
        return [where] if isinstance(where, Bucket) else list(where)

    def score(self, hours_now: float, rate: float) -> float:
        """The priority now (hours_now = epoch hours)."""
        if self.is_urgent and self.urgent is not None:
            return self.urgent + rate * hours_now
        return self.static


class Heads:
    """The live heads of one queue's buckets, best first: not-yet-urgent heads and urgent heads apart.

    Both lists keep their order over time, as the heaps inside a bucket do: all urgent heads gain the
    same urgency as time passes.
    """

    __slots__ = ("static", "urgent")

    def __init__(self) -> None:
        self.static: list[HeadKey] = []
        self.urgent: list[HeadKey] = []


def _move(index: list[HeadKey], old: HeadKey | None, new: HeadKey | None) -> None:
    if old is not None:
        del index[bisect_left(index, old)]
    if new is not None:
        insort(index, new)


class Bucket:
    """Tasks of one queue, skill needs and tier (or preferring one agent), best first."""

    __slots__ = (
        "_static",
        "_urgent",
        "agent_id",
        "channel",
        "heads",
        "key_static",
        "key_urgent",
        "needs",
        "push",
        "queue",
        "scores",
        "size",
        "tier",
        "top_static",
        "top_urgent",
    )

    def __init__(
        self,
        queue: str,
        channel: str,
        needs: SkillNeeds,
        tier: int,
        *,
        agent_id: str | None = None,
        push: bool = True,
        heads: Heads | None = None,
    ):
        self.queue = queue
        self.channel = channel
        self.needs = needs
        self.tier = tier
        self.agent_id = agent_id
        self.push = push
        self.heads = heads  # the queue's index this bucket's heads are kept in (None: not indexed)
        self._static: list[Entry] = []
        self._urgent: list[Entry] = []
        self.top_static: Entry | None = None  # the live heads, always current (heap[0] of each heap)
        self.top_urgent: Entry | None = None
        self.key_static: HeadKey | None = None  # the heads as filed in `heads`
        self.key_urgent: HeadKey | None = None
        self.size = 0  # live tasks
        self.scores: dict[float, float] = {}  # one float object per distinct score (see add)

    def add(self, task: Waiting) -> None:
        """File the task under its current stamp.

        Entries with equal scores share one float object: a tuple comparison then takes them as equal by
        identity, without reading either float, and the shared floats stay in cache. With a million
        waiting tasks the heaps' comparisons are cache misses; this removes one in two (the first
        `MAX_SHARED_SCORES` distinct scores of a bucket are shared, enough for priorities set by rules).
        """
        if task.is_urgent and task.urgent is not None:
            entry: Entry = (self._shared(-task.urgent), task.enqueued_at, task.seq, task.stamp, task)
            heapq.heappush(self._urgent, entry)
            top = self.top_urgent
            if top is None or entry < top:
                self._set_urgent(entry)
        else:
            entry = (self._shared(-task.static), task.enqueued_at, task.seq, task.stamp, task)
            heapq.heappush(self._static, entry)
            top = self.top_static
            if top is None or entry < top:
                self._set_static(entry)
        self.size += 1

    def _shared(self, score: float) -> float:
        scores = self.scores
        shared = scores.get(score)
        if shared is not None:
            return shared
        if len(scores) < MAX_SHARED_SCORES:
            scores[score] = score
        return score

    def discard(self, task: Waiting) -> None:
        """Count one task as gone; call before the task's stamp changes.

        A head that leaves is replaced at once; any other entry is dropped when it reaches the top.
        """
        self.size -= 1
        # `_live_head` pops the leaving task's entry off the top along with stale ones
        if (top := self.top_static) is not None and top[4] is task:
            self._set_static(_live_head(self._static, task))
        if (top := self.top_urgent) is not None and top[4] is task:
            self._set_urgent(_live_head(self._urgent, task))
        if len(self._static) + len(self._urgent) > 3 * self.size + 1024:
            self.compact()

    def _set_static(self, entry: Entry | None) -> None:
        self.top_static = entry
        if self.heads is not None:
            key = None if entry is None else (*entry, self)
            _move(self.heads.static, self.key_static, key)
            self.key_static = key

    def _set_urgent(self, entry: Entry | None) -> None:
        self.top_urgent = entry
        if self.heads is not None:
            key = None if entry is None else (*entry, self)
            _move(self.heads.urgent, self.key_urgent, key)
            self.key_urgent = key

    def refresh(self) -> None:
        """Find the live heads again (they are kept current; this only re-checks them)."""
        self._set_static(_live_head(self._static, None))
        self._set_urgent(_live_head(self._urgent, None))

    def best(self, hours_now: float, rate: float) -> tuple[float, float, int, Waiting] | None:
        """(score now, enqueued_at, seq, task) of the best task, or None when empty."""
        if self.size <= 0:
            return None
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
        """Drop stale entries (keeps memory proportional to waiting tasks); the heads stay where they are."""
        for name in ("_static", "_urgent"):
            heap: list[Entry] = getattr(self, name)
            live = [e for e in heap if e[3] == e[4].stamp]
            heapq.heapify(live)
            setattr(self, name, live)

    def stale(self) -> int:
        """How many heap entries are stale."""
        return len(self._static) + len(self._urgent) - self.size


def _live_head(heap: list[Entry], leaving: Waiting | None) -> Entry | None:
    """Pop stale entries (and the leaving task's) off the top; the live head, or None."""
    while heap:
        entry = heap[0]
        if entry[3] == entry[4].stamp and entry[4] is not leaving:
            return entry
        heapq.heappop(heap)
    return None


def _live_smallest(heap: list[Entry], limit: int) -> list[Entry]:
    k = limit + 8
    while True:
        live = [e for e in heapq.nsmallest(k, heap) if e[3] == e[4].stamp]
        if len(live) >= limit or k >= len(heap):
            return live[:limit]
        k *= 4
