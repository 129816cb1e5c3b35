"""The api's walk over the pull indexes: the best waiting tasks an agent may take, read a page at a time (pure).

The caller does the reading (Redis): it asks `next_step` what to read, reads it, and hands the answer
back (`pages_read`, `entries_read`), until `next_step` says nothing is left; `result` is then exactly
what workbin.workbin / next_candidates give over every entry of the domain, read far less.

The walk reads the bands (pull_index.py) of the queues walked, each in its own order, which is the order
of workbin.order_key for the member as met in that band (a task with a due time is met in both bands;
where it ranks now is the better of the two). A member whose tail says the agent may take the task is
pending; the best pending are verified against their entries (still waiting there, nobody holds them,
and pull_refusal on the entry as stored), and those that pass are found. The walk ends when `limit`
are found and no band's next member and no pending task could rank before the last of them.

Eligibility can make the walk long (an agent who may take few of the tasks ranked first): after
`max_scan` members the walk reads no more pages, and returns only what it can vouch for, the found tasks
that rank before every member not read yet; `truncated` then says the page may be short.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry, tier_since
from workrouter.domain.routing.model import AgentProfile, QueuePolicy, SkillNeeds
from workrouter.domain.routing.pull_index import PARKED, STATIC, URGENT, IndexKey, Member, read_member, read_tail
from workrouter.domain.routing.workbin import (
    DEFAULT_PRIORITY,
    exact_sum,
    is_waiting,
    order_key,
    pull_refusal,
    urgency_now,
)

log = logging.getLogger(__name__)

Key = tuple[float, float, float, int, str]  # workbin.order_key, then the task id
MAX_SCAN = 2000  # members read per request at most (docs/agent-api.md, "How far a listing looks")
MAX_PAGE = 1000
MARGIN = 8  # read and verify a few more than needed: some are held or taken meanwhile


@dataclass(frozen=True, slots=True)
class Page:
    """Read `count` members of the sorted set `key` from rank `start` on, with their scores."""

    key: IndexKey
    start: int
    count: int


@dataclass(slots=True)
class _Band:
    key: IndexKey
    policy: QueuePolicy
    count: int  # the size of its next page
    read: int = 0
    exhausted: bool = False
    last: Key | None = None  # the key of the last member read: every member not read ranks after it


@dataclass
class Step:
    """What to read next: pages of the index, or the entries of tasks (and whether anyone holds them)."""

    pages: list[Page] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)


class PullWalk:
    """One request's walk: the best `limit` waiting tasks of `queues` (pull queues) that the agent may take now."""

    def __init__(
        self,
        profile: AgentProfile,
        queues: Mapping[str, QueuePolicy],
        now: float,
        *,
        limit: int,
        priority: PriorityPolicy = DEFAULT_PRIORITY,
        max_scan: int = MAX_SCAN,
    ) -> None:
        self.profile, self.queues, self.now, self.limit = profile, dict(queues), now, limit
        self.priority, self.max_scan = priority, max_scan
        first = min(limit + MARGIN, MAX_PAGE)
        self._bands = [
            _Band(IndexKey(kind, name), policy, first)
            for name, policy in sorted(queues.items())
            for kind in (STATIC, URGENT)
        ]
        self._urgency = urgency_now(now, priority)
        self._pending: dict[str, Key] = {}  # task id -> the best key it was met at
        self._found: list[tuple[Key, QueueEntry]] = []
        self._verified: set[str] = set()
        self._may: dict[tuple[str, str, int], bool] = {}  # (queue, tail, tier) -> may the agent take it
        self._tails: dict[str, tuple[SkillNeeds, tuple[str, ...]] | None] = {}  # tail -> read (None: unreadable)
        self._asked: list[_Band] = []
        self.scanned = 0  # members read
        self.truncated = False  # stopped at max_scan: the result may be short

    # what to read

    def next_step(self) -> Step | None:
        """The next reads, or None when the walk is over."""
        bound = self._cutoff()
        if self.truncated:
            frontier = self._frontier()
            if frontier is None:  # nothing found can be vouched for: nothing left worth reading
                return None
            bound = frontier if bound is None else min(bound, frontier)
        pending = sorted(self._pending.items(), key=lambda item: item[1])
        if bound is not None:
            pending = [item for item in pending if item[1] < bound]
        elif not self.truncated:
            pending = pending[: self.limit - len(self._found) + MARGIN]
        if pending:
            return Step(entries=[task_id for task_id, _ in pending])
        if self.truncated:
            return None
        cutoff = self._cutoff()
        self._asked = [
            b for b in self._bands if not b.exhausted and (cutoff is None or b.last is None or b.last < cutoff)
        ]
        if not self._asked:
            return None
        if self.scanned >= self.max_scan:
            self.truncated = True
            return self.next_step()
        return Step(pages=[Page(b.key, b.read, b.count) for b in self._asked])

    # what was read

    def pages_read(self, pages: Sequence[Sequence[tuple[str, float]]]) -> None:
        """The members and scores of the pages `next_step` asked for, in its order."""
        for band, rows in zip(self._asked, pages, strict=True):
            self.scanned += len(rows)
            band.read += len(rows)
            band.exhausted = len(rows) < band.count
            band.count = min(band.count * 2, MAX_PAGE)
            for text, score in rows:
                try:
                    met = read_member(text)
                except ValueError as exc:
                    log.warning("%s: %s", band.key, exc)
                    continue
                key = appearance_key(band.key.kind, score, met, self._urgency)
                band.last = key
                if met.task_id in self._verified or not self._may_take(band, met):
                    continue
                known = self._pending.get(met.task_id)
                if known is None or key < known:
                    self._pending[met.task_id] = key
        self._asked = []

    def entries_read(self, rows: Mapping[str, tuple[Mapping[str, Any] | None, bool]]) -> None:
        """task id -> (its entry as stored or None, whether an agent holds it), for the ids asked for."""
        for task_id, (raw, held) in rows.items():
            self._pending.pop(task_id, None)
            self._verified.add(task_id)
            if raw is None or held or not is_waiting(raw, held=False):
                continue
            try:
                entry = QueueEntry.from_json(dict(raw))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("queue entry of task %s is unreadable and left out: %r", task_id, exc)
                continue
            policy = self.queues.get(entry.queue)
            if policy is None or pull_refusal(self.profile, entry, policy, self.now):
                continue
            self._found.append(((*order_key(entry, self.now, self.priority), entry.task_id), entry))

    def result(self) -> list[QueueEntry]:
        """The best tasks found, best first: `limit` of them unless fewer wait for the agent or `truncated`."""
        ranked = sorted(self._found, key=lambda item: item[0])
        if self.truncated:
            frontier = self._frontier()
            ranked = [item for item in ranked if frontier is not None and item[0] < frontier]
        return [entry for _, entry in ranked[: self.limit]]

    # helpers

    def _may_take(self, band: _Band, met: Member) -> bool:
        """pull_refusal on what the member says (the entry is checked again when read)."""
        tail = self._tails.get(met.tail, _UNREAD)
        if tail is _UNREAD:
            try:
                tail = self._tails[met.tail] = read_tail(met.tail)
            except (TypeError, ValueError):
                tail = self._tails[met.tail] = None
        if tail is None:
            return True  # unreadable here: the entry decides
        needs, agents = tail
        policy = band.policy
        tier = tier_since(met.enqueued_at, bool(agents), policy, self.now)
        cached = (policy.name, met.tail, tier)
        may = self._may.get(cached)
        if may is None:
            stub = QueueEntry(met.task_id, policy.name, "", "", needs, 0, 0.0, None, met.enqueued_at, met.seq, agents)
            may = self._may[cached] = not pull_refusal(self.profile, stub, policy, self.now)
        return may

    def _cutoff(self) -> Key | None:
        """The key of the `limit`-th best task found, once that many are."""
        if len(self._found) < self.limit:
            return None
        self._found.sort(key=lambda item: item[0])
        return self._found[self.limit - 1][0]

    def _frontier(self) -> Key | None:
        """Every member not read yet ranks after this (None: nothing can be vouched for)."""
        open_bands = [b for b in self._bands if not b.exhausted]
        if any(b.last is None for b in open_bands):
            return None
        return min((b.last for b in open_bands if b.last is not None), default=_END)


def appearance_key(kind: str, score: float, met: Member, urgency: float) -> Key:
    """Where a member ranks now in its band (STATIC or URGENT), as workbin.order_key and the task id: for
    a task met in both bands, the better of the two is its order_key (`urgency`: workbin.urgency_now)."""
    if kind == URGENT:
        high, low = exact_sum(-score, urgency)
        return (-high, -low, met.enqueued_at, met.seq, met.task_id)
    return (score, -0.0, met.enqueued_at, met.seq, met.task_id)


_END: Key = (float("inf"), float("inf"), float("inf"), 0, "")
_UNREAD: Any = object()


class ParkedWalk:
    """One request's walk over an agent's personal workbin: the tasks parked for it, oldest first (as
    workbin.personal_workbin), read a page at a time; the same protocol as PullWalk."""

    def __init__(self, agent_id: str, *, limit: int, max_scan: int = MAX_SCAN) -> None:
        self.agent_id, self.limit, self.max_scan = agent_id, limit, max_scan
        self._band = _Band(IndexKey(PARKED, agent_id), _NO_POLICY, min(limit + MARGIN, MAX_PAGE))
        self._pending: list[str] = []
        self._found: list[tuple[tuple[float, int, str], QueueEntry]] = []
        self._seen: set[str] = set()
        self.scanned = 0
        self.truncated = False

    def next_step(self) -> Step | None:
        """The next reads, or None when the walk is over."""
        if self._pending:
            return Step(entries=self._pending)
        band = self._band
        self._found.sort(key=lambda item: item[0])
        enough = len(self._found) >= self.limit
        if band.exhausted or (enough and band.last is not None and band.last[2:] >= self._found[self.limit - 1][0]):
            return None
        if self.scanned >= self.max_scan:
            self.truncated = True
            return None
        return Step(pages=[Page(band.key, band.read, band.count)])

    def pages_read(self, pages: Sequence[Sequence[tuple[str, float]]]) -> None:
        """The members of the page asked for."""
        (rows,) = pages
        band = self._band
        self.scanned += len(rows)
        band.read += len(rows)
        band.exhausted = len(rows) < band.count
        band.count = min(band.count * 2, MAX_PAGE)
        for text, _ in rows:
            try:
                met = read_member(text)
            except ValueError as exc:
                log.warning("%s: %s", band.key, exc)
                continue
            band.last = (0.0, 0.0, met.enqueued_at, met.seq, met.task_id)
            if met.task_id not in self._seen:
                self._seen.add(met.task_id)
                self._pending.append(met.task_id)

    def entries_read(self, rows: Mapping[str, tuple[Mapping[str, Any] | None, bool]]) -> None:
        """task id -> (its entry as stored or None, whether an agent holds it)."""
        self._pending = [t for t in self._pending if t not in rows]
        for task_id, (raw, held) in rows.items():
            if raw is None or held or raw.get("parked_for") != self.agent_id or raw.get("after_work_until") is not None:
                continue
            try:
                entry = QueueEntry.from_json(dict(raw))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("queue entry of task %s is unreadable and left out: %r", task_id, exc)
                continue
            self._found.append(((entry.enqueued_at, entry.seq, entry.task_id), entry))

    def result(self) -> list[QueueEntry]:
        """The parked tasks found, oldest first (when `truncated`, only those before every member not read)."""
        ranked = sorted(self._found, key=lambda item: item[0])
        last = self._band.last
        if self.truncated and not self._band.exhausted:
            ranked = [item for item in ranked if last is not None and item[0] <= last[2:]]
        return [entry for _, entry in ranked[: self.limit]]


_NO_POLICY = QueuePolicy("", "")
