"""The task list's rows as the reports API answers them (`GET /v1/tasks`): a task's `task_state` row (pure)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from workrouter.domain.reporting.task_row import TaskRow


class TaskListItem(BaseModel):
    """One task in the list: the columns of a work list (priority, due, expiry, status, work type, queue, title,
    created, external id, agent, source) and its counters."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="workrouter's id of the task (GET /v1/tasks/{task_id} for its detail).")
    status: str = Field(description="Where it is in its life: queued, offered, assigned, error_held, completed, ...")
    source: str | None = Field(description="The source system that sent it.")
    external_id: str | None = Field(description="The source's own id of it.")
    type: str | None = Field(description="Work type.")
    title: str = Field(description="Short human title.")
    channel: str = Field(description="Media/channel.")
    queue: str | None = Field(description="The queue it is in (or was last in).")
    domain: str | None = Field(description="The routing domain of that queue.")
    priority: int | None = Field(description="Base priority (0-1000), without due-date urgency.")
    skills: list[str] = Field(description="The skills an agent needs for it.")
    agent_id: str | None = Field(description="The agent offered it or holding it now (or who completed it).")
    created_at: datetime | None = Field(description="When it was captured.")
    queued_at: datetime | None = Field(description="When it entered its current queue.")
    accepted_at: datetime | None = Field(description="When an agent last accepted it.")
    closed_at: datetime | None = Field(description="When it was completed, cancelled or expired.")
    due_at: datetime | None = Field(description="When it is due; null: no due time.")
    expires_at: datetime | None = Field(description="When it expires; null: never.")
    wrap_up_code: str | None = Field(description="The wrap-up code its agent gave.")
    offers: int = Field(description="How many times it was offered.")
    escalated: bool = Field(description="At least one escalation step ran.")
    escalations: int = Field(description="How many escalation steps ran.")
    last_escalation: str | None = Field(description="The latest escalation step.")
    updated_at: datetime | None = Field(description="Its latest event's time.")
    events: int = Field(description="How many events it has in the log.")


class TaskList(BaseModel):
    """The tasks matching every filter given, in the order asked."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskListItem] = Field(description="At most `limit` tasks.")


_FIELDS = tuple(f.name for f in fields(TaskRow))


def task_list(rows: list[TaskRow]) -> TaskList:
    """The list of `rows`, in their order."""
    # Not dataclasses.asdict: it deep-copies every value, 130 us of a row's 135 us.
    items = [{name: getattr(row, name) for name in _FIELDS} for row in rows]
    return TaskList(tasks=[TaskListItem(**item, escalated=item["escalations"] > 0) for item in items])
