"""The active rule set, swapped only for a new file that validates."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from workrouter.config.rules_file import load_ruleset
from workrouter.domain.calendar import BusinessCalendar
from workrouter.domain.rules import RuleSet, RuleSetError

log = logging.getLogger(__name__)


class RulesHolder:
    """Holds the rule set in use; `reload()` replaces it only when the new file is valid."""

    def __init__(
        self,
        path: Path,
        *,
        known_queues: frozenset[str] | None = None,
        known_calendars: Mapping[str, BusinessCalendar] | frozenset[str] = frozenset({"24x7"}),
    ) -> None:
        self._path = path
        self._queues = known_queues
        self._calendars = known_calendars
        self.current: RuleSet = self._load()
        self._mtime = path.stat().st_mtime_ns

    def _load(self) -> RuleSet:
        ruleset = load_ruleset(self._path, known_calendars=self._calendars)
        if self._queues is not None:
            for rule in ruleset.rules:
                queue = rule.updates.get("queue")
                if queue is not None and queue not in self._queues:
                    known = ", ".join(sorted(self._queues))
                    raise RuleSetError(
                        f"rule {rule.id!r} (#{rule.position}): set.queue: unknown queue {queue!r} (known: {known})"
                    )
        return ruleset

    def reload(self) -> str | None:
        """Load the file again; returns the error (and keeps the old set) if it is invalid."""
        try:
            candidate = self._load()
        except (RuleSetError, OSError) as exc:
            log.error("rule set %s refused, keeping version %s: %s", self._path, self.current.version, exc)
            return str(exc)
        if candidate.version != self.current.version:
            log.info("rule set version %s replaces %s", candidate.version, self.current.version)
        self.current = candidate
        return None

    def reload_if_changed(self) -> str | None:
        """Reload when the file's modification time changed since the last look."""
        try:
            mtime = self._path.stat().st_mtime_ns
        except OSError as exc:
            return f"cannot read {self._path}: {exc}"
        if mtime == self._mtime:
            return None
        self._mtime = mtime
        return self.reload()
