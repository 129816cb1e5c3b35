"""A queued task as the router keeps it in Redis (`{p}:tasks:<domain>`), for failover and for the api (pure).

The router writes one entry per task it holds, waiting or not; who holds a task (offer, claim or
assignment) is not in the entry but in the task's holder record, which the Lua reservations keep.
A new router owner rebuilds its engine from the entries and the holders; the api reads the entries
to list workbins, claim, hand out "get next" and explain a task, without asking the router.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from workrouter.domain.routing.actions import TaskSpec
from workrouter.domain.routing.model import QueuePolicy, SkillNeeds


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One task the router holds, with everything needed to queue it again exactly where it was."""

    task_id: str
    queue: str
    domain: str
    channel: str
    needs: SkillNeeds
    base: int
    business_value: float
    due_at: float | None  # epoch seconds
    enqueued_at: float  # epoch seconds: the wait clock (kept across RONA and failover)
    seq: int  # arrival order inside the domain, the last tie-break
    preferred: tuple[str, ...] = ()
    url: str | None = None
    title: str = ""
    classified_id: str = ""  # the TaskClassified event it came from (redeliveries are recognised by it)
    parked_for: str | None = None  # the agent whose personal workbin holds it
    after_work_until: float | None = None  # finished; its holder's capacity is held until then (after-work)
    captured_at: float | None = None  # epoch seconds: when its source handed it over (capture-to-offer latency)

    def spec(self) -> TaskSpec:
        """The engine's view of the task."""
        return TaskSpec(
            task_id=self.task_id,
            queue=self.queue,
            needs=self.needs,
            base=self.base,
            business_value=self.business_value,
            due_at=self.due_at,
            enqueued_at=self.enqueued_at,
            preferred=self.preferred,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["needs"] = [list(pair) for pair in self.needs]
        data["preferred"] = list(self.preferred)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueueEntry:
        """Read an entry written by `to_json` (unknown keys are ignored, for later versions)."""
        return cls(
            task_id=str(data["task_id"]),
            queue=str(data["queue"]),
            domain=str(data["domain"]),
            channel=str(data["channel"]),
            needs=tuple((str(s), int(level)) for s, level in data.get("needs", [])),
            base=int(data.get("base", 0)),
            business_value=float(data.get("business_value", 0.0)),
            due_at=None if data.get("due_at") is None else float(data["due_at"]),
            enqueued_at=float(data["enqueued_at"]),
            seq=int(data.get("seq", 0)),
            preferred=tuple(str(a) for a in data.get("preferred", [])),
            url=data.get("url"),
            title=str(data.get("title", "")),
            classified_id=str(data.get("classified_id", "")),
            parked_for=data.get("parked_for"),
            after_work_until=None if data.get("after_work_until") is None else float(data["after_work_until"]),
            captured_at=None if data.get("captured_at") is None else float(data["captured_at"]),
        )


def tier_at(entry: QueueEntry, policy: QueuePolicy, now: float) -> int:
    """The entry's target tier at `now`: -1 while only its preferred agents may take it."""
    return tier_since(entry.enqueued_at, bool(entry.preferred), policy, now)


def tier_since(enqueued_at: float, preferred: bool, policy: QueuePolicy, now: float) -> int:
    """The target tier at `now` of a task enqueued at `enqueued_at` (naming `preferred` agents or not)."""
    start = enqueued_at + (policy.preferred_seconds if preferred else 0.0)
    if now < start:
        return -1
    tier = 0
    for index, step in enumerate(policy.tiers):
        if now >= start + step.after_seconds:
            tier = index
    return tier
