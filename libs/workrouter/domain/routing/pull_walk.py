"""The api's walk over the pull indexes: the best waiting tasks an agent may take, read a page at a time (pure).

The caller does the reading (Redis): it asks `next_step` what to read, reads it, and hands the answer
back (`classes_read`, `pages_read`, `entries_read`), until `next_step` says nothing is left; `result` is
then exactly what workbin.workbin / next_candidates give over every entry of the domain, read far less.

The walk first reads which skill classes the queues walked have, and leaves out those the agent may
take no task of (a skill missing, or below the class's own level: refused in every tier). It then reads
the bands (pull_index.py) of the other classes, each in its own order, which is the order of
workbin.order_key for the member as met in that band (a task with a due time is met in both bands;
where it ranks now is the better of the two). A member the agent may take (its class, its age's tier,
its preferred agents) is pending; the best pending are verified against their entries (still waiting
there, nobody holds them, and pull_refusal on the entry as stored), and those that pass are found. The
walk ends when `limit` are found and no band's next member and no pending task could rank before the
last of them.

What is left to read past is tasks of a class the agent has the skills for that are too young for its
tier (or in their preferred phase): after `max_scan` members the walk reads no more pages, and returns
only what it can vouch for, the found tasks that rank before every member not read yet; `truncated`
then says the page may be short.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, QueuePolicy, SkillNeeds
from workrouter.domain.routing.pull_ages import TierAges
from workrouter.domain.routing.pull_index import (
    STATIC,
    URGENT,
    IndexKey,
    needs_of,
    prefix_of,
    read_tail,
    split_member,
    unsortable,
)
from workrouter.domain.routing.workbin import (
    DEFAULT_PRIORITY,
    exact_sum,
    is_waiting,
    order_key,
    pull_refusal,
    urgency_now,
)

log = logging.getLogger(__name__)

# workbin.order_key with its (enqueued_at, seq) as the member's prefix (same order), then the task id
Key = tuple[float, float, str, str]
MAX_SCAN = 1000  # members read per request at most (docs/api-agents.md, "How far a listing looks")
MAX_PAGE = 1000
MARGIN = 8  # read and verify a few more than needed: some are held or taken meanwhile
FIRST_PAGE = 32  # the least a band's first page reads (with many bands, each reads a share of limit + MARGIN)


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
    needs: SkillNeeds | None = None  # of its class (None: unreadable, each entry decides)
    read: int = 0
    exhausted: bool = False
    last: Key | None = None  # the key of the last member read: every member not read ranks after it


@dataclass
class Step:
    """What to read next: the skill classes of queues, pages of the index, or the entries of tasks (and
    whether anyone holds them)."""

    classes: list[str] = field(default_factory=list)
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
        self._bands: list[_Band] = []
        self._classes_read = False
        self._urgency = urgency_now(now, priority)
        self._pending: dict[str, Key] = {}  # task id -> the best key it was met at
        self._found: list[tuple[Key, QueueEntry]] = []
        self._verified: set[str] = set()
        self._may: dict[tuple[str, str, str, int], bool] = {}  # (queue, class, tail, tier) -> may the agent take it
        self._ages = {
            (name, preferred): TierAges(policy, now, preferred=preferred)
            for name, policy in self.queues.items()
            for preferred in (False, True)
        }
        self._asked: list[_Band] = []
        self.scanned = 0  # members read
        self.truncated = False  # stopped at max_scan: the result may be short

    # what to read

    def next_step(self) -> Step | None:
        """The next reads, or None when the walk is over."""
        if not self._classes_read:
            return Step(classes=sorted(self.queues)) if self.queues else None
        bound = self._cutoff()
        if self.truncated:
            frontier = self._frontier()
            if frontier is None:  # nothing found can be vouched for: nothing left worth reading
                return None
            bound = frontier if bound is None else min(bound, frontier)
        pending = self._to_verify(bound)
        if pending:
            return Step(entries=pending)
        if self.truncated:
            return None
        cutoff = self._cutoff()
        self._asked = [
            b for b in self._bands if not b.exhausted and (cutoff is None or b.last is None or b.last < cutoff)
        ]
        if not self._asked:
            return None
        left = self.max_scan - self.scanned
        if left <= 0:
            self.truncated = True
            return self.next_step()
        share = max(left // len(self._asked), 1)  # never read far past max_scan
        for band in self._asked:
            band.count = min(band.count, share)
        return Step(pages=[Page(b.key, b.read, b.count) for b in self._asked])

    def _to_verify(self, bound: Key | None) -> list[str]:
        """The members found whose entries must be read, best first: those before `bound` (None: all) that could
        still make the first `limit`, and a few more."""
        pending = sorted(self._pending.items(), key=lambda item: item[1])
        if bound is not None:
            pending = [item for item in pending if item[1] < bound]
        if pending and not self.truncated:
            ahead = sum(1 for key, _ in self._found if key < pending[0][1])
            pending = pending[: max(self.limit - ahead, 0) + MARGIN]
        return [task_id for task_id, _ in pending]

    # what was read

    def classes_read(self, classes: Mapping[str, Iterable[str]]) -> None:
        """Each queue's skill classes (pull_index.class_of), as `next_step` asked for them."""
        self._classes_read = True
        for name, policy in sorted(self.queues.items()):
            for skills in sorted(classes.get(name, ())):
                try:
                    needs: SkillNeeds | None = needs_of(skills)
                except ValueError as exc:
                    log.warning("%s: %s", name, exc)
                    needs = None
                if needs is None or self._has_skills(needs):
                    for kind in (STATIC, URGENT):
                        self._bands.append(_Band(IndexKey(kind, name, skills), policy, 0, needs))
        first = min(
            self.limit + MARGIN, MAX_PAGE, max(FIRST_PAGE, 2 * (self.limit + MARGIN) // max(len(self._bands), 1))
        )
        for band in self._bands:
            band.count = first

    def pages_read(self, pages: Sequence[Sequence[tuple[str, float]]]) -> None:
        """The members and scores of the pages `next_step` asked for, in its order."""
        for band, rows in zip(self._asked, pages, strict=True):
            self.scanned += len(rows)
            band.read += len(rows)
            band.exhausted = len(rows) < band.count
            band.count = min(band.count * 2, MAX_PAGE)
            urgent = band.key.kind == URGENT
            for text, score in rows:
                try:
                    prefix, task_id, tail = split_member(text)
                except ValueError as exc:
                    log.warning("%s: %s", band.key, exc)
                    continue
                if urgent:
                    high, low = exact_sum(-score, self._urgency)
                    key: Key = (-high, -low, prefix, task_id)
                else:
                    key = (score, -0.0, prefix, task_id)
                band.last = key
                if task_id in self._verified or not self._may_take(band, prefix, task_id, tail):
                    continue
                known = self._pending.get(task_id)
                if known is None or key < known:
                    self._pending[task_id] = key
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
            high, low, _, _ = order_key(entry, self.now, self.priority)
            self._found.append(((high, low, prefix_of(entry), entry.task_id), entry))

    def result(self) -> list[QueueEntry]:
        """The best tasks found, best first: `limit` of them unless fewer wait for the agent or `truncated`."""
        ranked = sorted(self._found, key=lambda item: item[0])
        if self.truncated:
            frontier = self._frontier()
            ranked = [item for item in ranked if frontier is not None and item[0] < frontier]
        return [entry for _, entry in ranked[: self.limit]]

    # helpers

    def _has_skills(self, needs: SkillNeeds) -> bool:
        """False when the agent lacks a skill or has it below the level: refused in every tier and phase."""
        skills = self.profile.skills
        return all(skill in skills and skills[skill] >= level for skill, level in needs)

    def _may_take(self, band: _Band, prefix: str, task_id: str, tail: str) -> bool:
        """pull_refusal on what the band and the member say (the entry is checked again when read)."""
        if band.needs is None:
            return True  # an unreadable class: each entry decides
        policy = band.policy
        tier = self._ages[policy.name, bool(tail)].tier(prefix[:16])
        cached = (policy.name, band.key.skills, tail, tier)
        may = self._may.get(cached)
        if may is None:
            enqueued_at, agents = unsortable(prefix[:16]), read_tail(tail)
            stub = QueueEntry(task_id, policy.name, "", "", band.needs, 0, 0.0, None, enqueued_at, 0, agents)
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


def appearance_key(kind: str, score: float, member_text: str, urgency: float) -> Key:
    """Where a member ranks now in its band (STATIC or URGENT), as workbin.order_key and the task id: for
    a task met in both bands, the better of the two is its order_key (`urgency`: workbin.urgency_now)."""
    prefix, task_id, _ = split_member(member_text)
    if kind == URGENT:
        high, low = exact_sum(-score, urgency)
        return (-high, -low, prefix, task_id)
    return (score, -0.0, prefix, task_id)


_END: Key = (float("inf"), float("inf"), "~", "")
