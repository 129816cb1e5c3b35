"""A task's history as people read it: each event of the log with a short summary in words (pure).

The log keeps each payload as the JSON it arrived as (`event_log.data`), without its schema version, so
the summaries read it leniently: a field that is missing (an older payload, a hand-made row) leaves its
part of the sentence out instead of failing the whole history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event of a task as the event log keeps it."""

    seq: int
    event_id: str
    time: datetime
    type: str  # short: task.offered
    agent_id: str | None
    queue: str | None
    data: Mapping[str, Any]


class HistoryEntry(BaseModel):
    """One event in a task's history."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(description="Position in the event log (ingest order); a task's events are ordered by it.")
    event_id: str = Field(description="The event's id (CloudEvents `id`).")
    time: datetime = Field(description="When it happened.")
    type: str = Field(description="Event type without the `workrouter.` prefix, e.g. `task.offered`.")
    agent_id: str | None = Field(description="The agent it concerns, if any.")
    queue: str | None = Field(description="The queue it names, if any.")
    summary: str = Field(description="What happened, in words, e.g. `offered to emma (tier 0)`.")


class TaskHistory(BaseModel):
    """A task's events in order, one page at a time."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="The task.")
    events: list[HistoryEntry] = Field(description="Its events after `after`, oldest first.")
    next_after: int | None = Field(
        description="When more events follow: pass it as `after` for the next page; null on the last page."
    )


def history(task_id: str, events: Sequence[LoggedEvent], limit: int) -> TaskHistory:
    """The page of a task's history: `events` (up to limit + 1 were read, so a next page is known) summarised."""
    page = events[:limit]
    entries = [
        HistoryEntry(
            seq=e.seq,
            event_id=e.event_id,
            time=e.time,
            type=e.type,
            agent_id=e.agent_id,
            queue=e.queue,
            summary=summary(e.type, e.data),
        )
        for e in page
    ]
    return TaskHistory(task_id=task_id, events=entries, next_after=page[-1].seq if len(events) > limit else None)


def summary(event_type: str, data: Mapping[str, Any]) -> str:
    """A short sentence saying what the event did, e.g. `completed by emma: wrap-up processed`."""
    describe = _SUMMARIES.get(event_type)
    if describe is None:
        return event_type.removeprefix("task.").replace("_", " ")
    return describe(_Fields(data))


class _Fields:
    """A payload's fields as text, for sentences: a missing or empty field is ''."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __call__(self, name: str, before: str = "", after: str = "") -> str:
        """The field as text between `before` and `after`; '' when it is missing, null or empty."""
        value = self._data.get(name)
        if value is None or value in ("", []):
            return ""
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        return f"{before}{text}{after}"


def _captured(f: _Fields) -> str:
    return f"captured from {f('source') or 'a source'}" + f("type", ": ") + f("external_id", " (external id ", ")")


def _classified(f: _Fields) -> str:
    return f"classified to {f('queue') or 'a queue'}" + f("priority", " (priority ", ")") + f("rule", " by rule ")


def _updated(f: _Fields) -> str:
    return "updated by the source" + f("changed", ": ")


def _error_held(f: _Fields) -> str:
    return "held for a person" + f("reason", ": ") + f("service", " (", " gave up)")


def _queued(f: _Fields) -> str:
    return f"queued in {f('queue') or 'a queue'}" + f("priority", " (priority ", ")")


_TIERS = {"-1": " (preferred agent)", "-2": " (tiers bypassed)"}


def _offered(f: _Fields) -> str:
    what = "claimed with get-next by" if f("how") == "get_next" else "offered to"
    return f"{what} {f('agent_id') or 'an agent'}" + _TIERS.get(f("tier"), f("tier", " (tier ", ")"))


_ACCEPTED = {
    "auto_answer": "auto-answered by {agent}",
    "pull": "claimed by {agent} from a workbin",
    "get_next": "started by {agent} (get-next)",
    "force": "force-assigned to {agent}",
    "personal": "claimed by {agent} from their personal workbin",
}


def _accepted(f: _Fields) -> str:
    text = _ACCEPTED.get(f("how"), "accepted by {agent}").format(agent=f("agent_id") or "an agent")
    return text + f("by", " by ") + f("queue", " from ")


_REVOKED = {
    "rona": "not answered in time (RONA)",
    "rejected": "rejected",
    "cancelled": "withdrawn with the task",
    "agent_offline": "the agent went offline",
    "claim_timeout": "get-next claim not started in time",
    "taken_back": "taken back by a supervisor",
}


def _revoked(f: _Fields) -> str:
    reason = f("reason")
    return f"offer to {f('agent_id') or 'an agent'} ended: {_REVOKED.get(reason, reason or 'no reason given')}"


def _unassigned(f: _Fields) -> str:
    return f"taken from {f('agent_id') or 'its agent'}" + f("reason", ": ")


def _parked(f: _Fields) -> str:
    return f"parked in {f('workbin') or 'a workbin'}" + f("by", " by ")


def _escalated(f: _Fields) -> str:
    return f"escalated: step {f('step') or '?'}" + f("actions", " (", ")") + f("target_queue", ", moved to ")


def _reprioritised(f: _Fields) -> str:
    raised = "" if f("raise_by") in ("", "0") else f("raise_by", " (+", ")")
    return f"priority now {f('priority') or '?'}" + raised + f("reason", ": ")


def _wrap_up(f: _Fields) -> str:
    return f"wrap-up by {f('agent_id') or 'an agent'}" + f("wrap_up_code", ": ")


def _completed(f: _Fields) -> str:
    who = f("agent_id") or ("the source" if f("by") == "source" else f("by") or "someone")
    return f"completed by {who}" + f("wrap_up_code", ": wrap-up ")


def _cancelled(f: _Fields) -> str:
    by = f("by")
    return f"cancelled by {'the source' if by == 'source' else by or 'someone'}" + f("reason", ": ")


def _expired(f: _Fields) -> str:
    return "expired" + f("expired_at", " (expiry time ", ")")


def _rescheduled(f: _Fields) -> str:
    return "rescheduled" + f("by", " by ") + f("wake_at", " until ")


def _paused(f: _Fields) -> str:
    return "paused" + f("by", " by ") + f("reason", ": ")


def _resumed(f: _Fields) -> str:
    return "woke up" + f("wake_at", " (rescheduled to ", ")") if f("by") == "timer" else "resumed" + f("by", " by ")


_SUMMARIES: dict[str, Callable[[_Fields], str]] = {
    "task.captured": _captured,
    "task.classified": _classified,
    "task.updated": _updated,
    "task.error_held": _error_held,
    "task.queued": _queued,
    "task.offered": _offered,
    "task.accepted": _accepted,
    "task.offer_revoked": _revoked,
    "task.unassigned": _unassigned,
    "task.parked": _parked,
    "task.escalated": _escalated,
    "task.reprioritised": _reprioritised,
    "task.wrap_up_started": _wrap_up,
    "task.completed": _completed,
    "task.cancelled": _cancelled,
    "task.expired": _expired,
    "task.rescheduled": _rescheduled,
    "task.paused": _paused,
    "task.resumed": _resumed,
}
SUMMARISED: frozenset[str] = frozenset(_SUMMARIES)  # the event types with a sentence of their own
