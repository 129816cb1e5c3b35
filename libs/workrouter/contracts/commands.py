"""Commands: orders sent to a service (named in the imperative)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from workrouter.contracts.bounds import Duration, JsonObject, Name, Priority, Text, Url
from workrouter.contracts.common import SkillRequirement, Timestamp
from workrouter.contracts.envelope import Payload, Upcaster
from workrouter.contracts.refused import RefusedCommand, refuse_or_validate


class CaptureTask(Payload):
    """A source system hands workrouter a work item (the public `wr.capture` contract)."""

    event_type = "workrouter.command.capture_task"
    refusable = True

    source: Name = Field(min_length=1, max_length=64, description="Registered source system name.")
    external_id: Name = Field(min_length=1, max_length=256, description="The source's own id of the item.")
    type: Name = Field(min_length=1, max_length=64, description="Work type (template) name.")
    title: Text = Field(min_length=1, max_length=500, description="Short human title.")
    description: Text | None = Field(default=None, max_length=10_000, description="Longer text.")
    url: Url | None = Field(default=None, description="Work item URL for the screen pop (http or https).")
    channel: Name = Field(default="workitem", min_length=1, max_length=32, description="Media/channel.")
    attributes: JsonObject = Field(default_factory=dict, description="Free metadata from the source.")
    priority: Priority | None = Field(default=None, description="Priority override (0-1000).")
    due_at: Timestamp | None = Field(default=None, description="Due time override.")
    expires_at: Timestamp | None = Field(default=None, description="Expiry time override.")
    sla_seconds: Duration | None = Field(default=None, description="SLA override in seconds.")
    requested_agent: Name | None = Field(default=None, max_length=64, description="Agent the source asks for.")


class ReclassifyTask(Payload):
    """Ask the prioritiser to run the rules on a task again (attributes changed, transfer, ...)."""

    event_type = "workrouter.command.reclassify_task"
    version = 2
    # v2 (2026-12-07) added the optional `by`: v1 data reads as v2 data as it is, with by = None
    upcasters: ClassVar[Mapping[int, Upcaster]] = {1: dict}

    task_id: Name = Field(min_length=1, max_length=64, description="Task to classify again.")
    reason: Text = Field(min_length=1, max_length=500, description="Why, for the task history.")
    queue: Name | None = Field(default=None, description="Force this queue instead of the rules' choice.")
    skills: list[SkillRequirement] | None = Field(default=None, description="Force these skills.")
    by: Name | None = Field(
        default=None,
        description="Who asked, for the audit trail: the agent or supervisor id, or `cli:<user>@<host>` "
        "for `workrouter reclassify`.",
    )


OVERRIDABLE = ("priority", "sla_seconds", "due_at")


class OverrideTask(Payload):
    """A supervisor sets a task's base priority, SLA or due time, as a source's update would (issue 20); the
    prioritiser keeps them with the task's facts and classifies it again. A field given as null goes back to
    what the rules say; a field left out is unchanged. Later updates from the source may change them again."""

    event_type = "workrouter.command.override_task"

    task_id: Name = Field(min_length=1, max_length=64, description="The task.")
    reason: Text = Field(min_length=1, max_length=500, description="Why, for the task history.")
    by: Name = Field(description="The supervisor, for the audit trail.")
    priority: Priority | None = Field(default=None, description="Base priority (0-1000); null: the rules'.")
    sla_seconds: Duration | None = Field(default=None, description="SLA in seconds; null: the rules' or the source's.")
    due_at: Timestamp | None = Field(default=None, description="Due time (RFC 3339); null: from the SLA or the rules.")
    cleared: list[Literal["priority", "sla_seconds", "due_at"]] = Field(
        default_factory=list, description="Fields given as null: back to what the rules say."
    )

    def changes(self) -> dict[str, Any]:
        """The facts this override sets (JSON values), None for those it clears."""
        values = self.model_dump(mode="json", include=set(OVERRIDABLE), exclude_none=True)
        return {**values, **dict.fromkeys(self.cleared)}


def _as_documents(items: Any) -> Any:
    """Items given as CaptureTask objects (in code) travel as their JSON documents."""
    if isinstance(items, list):
        return [i.model_dump(mode="json", exclude_unset=True) if isinstance(i, CaptureTask) else i for i in items]
    return items


class CaptureTaskBatch(Payload):
    """Many work items in one message, for sources that dump backlogs; each item is judged alone."""

    event_type = "workrouter.command.capture_task_batch"

    refusable = True

    items: Annotated[
        list[dict[str, Any]],
        BeforeValidator(_as_documents),
        WithJsonSchema({"type": "array", "items": {"$ref": "#/components/schemas/CaptureTask"}}),
    ] = Field(min_length=1, max_length=1000, description="CaptureTask payloads, each validated and judged alone.")

    def commands(self) -> list[CaptureTask | RefusedCommand]:
        """Each item as a command, or as a refusal naming what is wrong with it."""
        return [refuse_or_validate(CaptureTask, item) for item in self.items]


class SourceCommand(Payload):
    """A source system acting on one of its own tasks, named by its own id."""

    refusable = True

    source: Name = Field(min_length=1, max_length=64, description="Registered source system name.")
    external_id: Name = Field(min_length=1, max_length=256, description="The source's own id of the item.")


class UpdateTask(SourceCommand):
    """Change a task's details, JSON Merge Patch style: a field left out is unchanged, a null
    clears it (not allowed for `title`); attributes are merged (null removes a key); then the
    task is re-prioritised."""

    event_type = "workrouter.command.update_task"
    merge_patch = True

    title: Text | None = Field(default=None, min_length=1, max_length=500, description="New title (never null).")
    description: Text | None = Field(default=None, max_length=10_000, description="New longer text; null clears it.")
    url: Url | None = Field(default=None, description="New work item URL (http or https); null clears it.")
    attributes: JsonObject = Field(default_factory=dict, description="Keys to set; a null value removes the key.")
    priority: Priority | None = Field(default=None, description="Priority override (0-1000); null clears it.")
    due_at: Timestamp | None = Field(default=None, description="Due time override; null clears it.")
    expires_at: Timestamp | None = Field(default=None, description="Expiry time override; null clears it.")
    sla_seconds: Duration | None = Field(default=None, description="SLA override in seconds; null clears it.")

    @model_validator(mode="after")
    def _title_not_cleared(self) -> UpdateTask:
        if "title" in self.model_fields_set and self.title is None:
            raise ValueError("title cannot be cleared (null); leave it out to keep it, or send a new title")
        return self


class CancelTask(SourceCommand):
    """Withdraw a task wherever it is."""

    event_type = "workrouter.command.cancel_task"

    reason: Text = Field(
        default="cancelled by source", min_length=1, max_length=500, description="Why, for the task history."
    )


class CompleteTask(SourceCommand):
    """The source finished the work itself."""

    event_type = "workrouter.command.complete_task"

    wrap_up_code: Name | None = Field(
        default=None, min_length=1, max_length=64, description="A wrap-up code id from codes.yaml."
    )


class RescheduleTask(SourceCommand):
    """Put a task to sleep until a time; it then re-enters routing with its history."""

    event_type = "workrouter.command.reschedule_task"

    wake_at: Timestamp = Field(description="When the task re-enters routing (RFC 3339 with an offset).")


class PauseTask(SourceCommand):
    """Take a task out of distribution until resumed."""

    event_type = "workrouter.command.pause_task"

    reason: Text | None = Field(default=None, max_length=500, description="Why, for the task history.")


class ResumeTask(SourceCommand):
    """Put a paused task back into distribution."""

    event_type = "workrouter.command.resume_task"
