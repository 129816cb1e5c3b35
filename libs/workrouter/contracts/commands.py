"""Commands: orders sent to a service (named in the imperative)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from workrouter.contracts.common import SkillRequirement
from workrouter.contracts.envelope import Payload


class CaptureTask(Payload):
    """A source system hands workrouter a work item (the public `wr.capture` contract)."""

    event_type = "workrouter.command.capture_task"

    source: str = Field(min_length=1, max_length=64, description="Registered source system name.")
    external_id: str = Field(min_length=1, max_length=256, description="The source's own id of the item.")
    type: str = Field(min_length=1, max_length=64, description="Work type (template) name.")
    title: str = Field(min_length=1, max_length=500, description="Short human title.")
    description: str | None = Field(default=None, max_length=10_000, description="Longer text.")
    url: str | None = Field(default=None, max_length=2048, description="Work item URL for the screen pop.")
    channel: str = Field(default="workitem", min_length=1, max_length=32, description="Media/channel.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Free metadata from the source.")
    priority: int | None = Field(default=None, ge=0, le=1000, description="Priority override.")
    due_at: AwareDatetime | None = Field(default=None, description="Due time override.")
    expires_at: AwareDatetime | None = Field(default=None, description="Expiry time override.")
    sla_seconds: int | None = Field(default=None, gt=0, description="SLA override in seconds.")
    requested_agent: str | None = Field(default=None, description="Agent the source asks for.")


class ReclassifyTask(Payload):
    """Ask the prioritiser to run the rules on a task again (attributes changed, transfer, ...)."""

    event_type = "workrouter.command.reclassify_task"

    task_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, description="Why, for the task history.")
    queue: str | None = Field(default=None, description="Force this queue instead of the rules' choice.")
    skills: list[SkillRequirement] | None = Field(default=None, description="Force these skills.")
