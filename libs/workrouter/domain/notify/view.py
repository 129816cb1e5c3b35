"""What a callback tells a source about its task: a fold over the task's events on `wr.tasks` (pure).

The view keeps the facts the source gave at capture next to the facts as they are now, so a
callback can say what changed since capture. Applying an event depends only on the event and the
view before it; a task that ended keeps its final view, and later events leave it as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Payload
from workrouter.domain.task_state import TERMINAL, state_after

# The facts a source owns: given at capture, changed only by the source's updates (TaskUpdated).
SOURCE_FACTS: tuple[str, ...] = (
    "title",
    "description",
    "url",
    "attributes",
    "priority",
    "due_at",
    "expires_at",
    "sla_seconds",
)
TERMINAL_STATES: frozenset[str] = frozenset(str(s) for s in TERMINAL)


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 text as pydantic writes it (`Z` for UTC), so every time in a body looks alike."""
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def source_facts(data: te.TaskCaptured | te.TaskUpdated) -> dict[str, Any]:
    """The source's facts carried by a capture or an update, as JSON values."""
    dumped = data.model_dump(mode="json")
    return {name: dumped.get(name) for name in SOURCE_FACTS}


class TaskView(BaseModel):
    """One task as its source is told about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: str
    source: str
    external_id: str
    type: str
    status: str = "captured"
    queue: str | None = None
    agent_id: str | None = None
    wrap_up_code: str | None = None
    priority: int | None = Field(default=None, description="Base priority as workrouter last decided it.")
    due_at: AwareDatetime | None = Field(default=None, description="Due time as workrouter last decided it.")
    captured: dict[str, Any] = Field(description="The source's facts at capture (JSON values).")
    facts: dict[str, Any] = Field(description="The source's facts now (JSON values).")
    captured_at: AwareDatetime
    assigned_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    closed_by: str | None = Field(default=None, description="Id of the event that ended the task.")

    @property
    def closed(self) -> bool:
        """Whether the task has ended (completed, cancelled or expired)."""
        return self.status in TERMINAL_STATES

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskView:
        """The inverse of to_json."""
        return cls.model_validate(data)

    def changes(self) -> dict[str, dict[str, Any]]:
        """What the source's updates changed since capture: `{"title": {"from": .., "to": ..}, "attributes.k": ..}`."""
        out: dict[str, dict[str, Any]] = {}
        for name in SOURCE_FACTS:
            before, now = self.captured.get(name), self.facts.get(name)
            if name == "attributes":
                old, new = before or {}, now or {}
                for key in sorted(set(old) | set(new)):
                    if old.get(key) != new.get(key) or (key in old) != (key in new):
                        out[f"attributes.{key}"] = {"from": old.get(key), "to": new.get(key)}
            elif before != now:
                out[name] = {"from": before, "to": now}
        return out

    def report(self) -> dict[str, Any]:
        """The `task` object of a callback body."""
        facts = self.facts
        due = iso(self.due_at) if self.due_at is not None else facts.get("due_at")
        return {
            "task_id": self.task_id,
            "source": self.source,
            "external_id": self.external_id,
            "type": self.type,
            "title": facts.get("title"),
            "description": facts.get("description"),
            "url": facts.get("url"),
            "status": self.status,
            "queue": self.queue,
            "agent_id": self.agent_id,
            "wrap_up_code": self.wrap_up_code,
            "priority": self.priority if self.priority is not None else facts.get("priority"),
            "due_at": due,
            "expires_at": facts.get("expires_at"),
            "attributes": facts.get("attributes") or {},
            "captured_at": iso(self.captured_at),
            "assigned_at": iso(self.assigned_at),
            "closed_at": iso(self.closed_at),
            "updated_at": iso(self.updated_at),
        }


def start(data: te.TaskCaptured, time: datetime) -> TaskView:
    """The view of a task just captured."""
    facts = source_facts(data)
    return TaskView(
        task_id=data.task_id,
        source=data.source,
        external_id=data.external_id,
        type=data.type,
        priority=data.priority,
        due_at=data.due_at,
        captured=facts,
        facts=facts,
        captured_at=time,
        updated_at=time,
    )


def _facts(view: TaskView, data: Payload) -> dict[str, Any]:
    """The fields an event changes, besides the status and times."""
    if isinstance(data, te.TaskUpdated):
        return {"facts": source_facts(data)}
    if isinstance(data, te.TaskClassified):
        return {"queue": data.queue, "priority": data.priority, "due_at": data.due_at or view.due_at}
    if isinstance(data, te.TaskQueued):
        return {"queue": data.queue, "priority": data.priority}
    if isinstance(data, te.TaskReprioritised):
        return {"priority": data.priority}
    if isinstance(data, te.TaskEscalated) and data.target_queue:
        return {"queue": data.target_queue}
    if isinstance(data, te.TaskAccepted):
        return {"agent_id": data.agent_id}
    if isinstance(data, te.TaskWrapUpStarted):
        return {"agent_id": data.agent_id, "wrap_up_code": data.wrap_up_code}
    if isinstance(data, te.TaskCompleted):
        return {"agent_id": data.agent_id or view.agent_id, "wrap_up_code": data.wrap_up_code or view.wrap_up_code}
    return {}


def apply(view: TaskView | None, event_type: str, data: Payload, event_id: str, time: datetime) -> TaskView | None:
    """The view after one event; None while the task's capture has not been seen; an ended task stays as it is."""
    if isinstance(data, te.TaskCaptured):
        return view if view is not None else start(data, time)
    if view is None or view.closed:
        return view
    changes = _facts(view, data)
    target = state_after(event_type)
    if target is not None:
        changes["status"] = str(target)
        if target in TERMINAL:
            changes |= {"closed_at": time, "closed_by": event_id}
    if isinstance(data, te.TaskAccepted):
        changes["assigned_at"] = time
    changes["updated_at"] = max(view.updated_at, time)
    return view.model_copy(update=changes)
