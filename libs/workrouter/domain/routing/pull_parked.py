"""The api's walk over an agent's personal workbin: the tasks parked for it, oldest first, a page at a time (pure)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.pull_index import PARKED, IndexKey, prefix_of, split_member
from workrouter.domain.routing.pull_walk import MARGIN, MAX_PAGE, MAX_SCAN, Page, Step

log = logging.getLogger(__name__)


class ParkedWalk:
    """One request's walk over an agent's personal workbin: the tasks parked for it, oldest first (as
    workbin.personal_workbin), read a page at a time; the same protocol as PullWalk."""

    def __init__(self, agent_id: str, *, limit: int, max_scan: int = MAX_SCAN) -> None:
        self.agent_id, self.limit, self.max_scan = agent_id, limit, max_scan
        self._key = IndexKey(PARKED, agent_id)
        self._count = min(limit + MARGIN, MAX_PAGE)
        self._read = 0
        self._exhausted = False
        self._last: tuple[str, str] | None = None  # (prefix, task id) of the last member read
        self._pending: list[str] = []
        self._found: list[tuple[tuple[str, str], QueueEntry]] = []
        self._seen: set[str] = set()
        self.scanned = 0
        self.truncated = False

    def classes_read(self, classes: Mapping[str, Iterable[str]]) -> None:
        """Never asked for: a personal workbin has no classes."""

    def next_step(self) -> Step | None:
        """The next reads, or None when the walk is over."""
        if self._pending:
            return Step(entries=self._pending)
        self._found.sort(key=lambda item: item[0])
        enough = len(self._found) >= self.limit
        if self._exhausted or (enough and self._last is not None and self._last >= self._found[self.limit - 1][0]):
            return None
        if self.scanned >= self.max_scan:
            self.truncated = True
            return None
        self._count = min(self._count, self.max_scan - self.scanned)
        return Step(pages=[Page(self._key, self._read, self._count)])

    def pages_read(self, pages: Sequence[Sequence[tuple[str, float]]]) -> None:
        """The members of the page asked for."""
        (rows,) = pages
        self.scanned += len(rows)
        self._read += len(rows)
        self._exhausted = len(rows) < self._count
        self._count = min(self._count * 2, MAX_PAGE)
        for text, _ in rows:
            try:
                prefix, task_id, _ = split_member(text)
            except ValueError as exc:
                log.warning("%s: %s", self._key, exc)
                continue
            self._last = (prefix, task_id)
            if task_id not in self._seen:
                self._seen.add(task_id)
                self._pending.append(task_id)

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
            self._found.append(((prefix_of(entry), entry.task_id), entry))

    def result(self) -> list[QueueEntry]:
        """The parked tasks found, oldest first (when `truncated`, only those before every member not read)."""
        ranked = sorted(self._found, key=lambda item: item[0])
        if self.truncated and not self._exhausted:
            last = self._last
            ranked = [item for item in ranked if last is not None and item[0] <= last]
        return [entry for _, entry in ranked[: self.limit]]
