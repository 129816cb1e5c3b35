"""The source API's request bodies as the OpenAPI document shows them.

The routes validate a body as the command itself (`contracts/commands.py`) with the source taken from
the API key and the external id from the path; these subclasses only say so in the schema, so the
document and the validation cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from workrouter.contracts import commands as c

SOURCE_NOTE = "Optional: the API key names the source; when given it must be that source (403 otherwise)."
EXTERNAL_ID_NOTE = "Optional and ignored: the path names the task."


def _not_required(notes: dict[str, str]) -> Callable[[dict[str, Any]], None]:
    """A schema patch: the named fields are optional, with a note saying why."""

    def patch(schema: dict[str, Any]) -> None:
        schema["required"] = [name for name in schema.get("required", []) if name not in notes]
        if not schema["required"]:
            del schema["required"]
        for name, note in notes.items():
            schema["properties"][name]["description"] = note

    return patch


ON_PATH = ConfigDict(json_schema_extra=_not_required({"source": SOURCE_NOTE, "external_id": EXTERNAL_ID_NOTE}))


class CaptureTaskBody(c.CaptureTask):
    """A work item for `POST /v1/tasks` (one object, or an array of 1 to 1000 of them)."""

    model_config = ConfigDict(json_schema_extra=_not_required({"source": SOURCE_NOTE}))


class UpdateTaskBody(c.UpdateTask):
    """The body of `PATCH /v1/tasks/{external_id}`: JSON Merge Patch of the task's details."""

    model_config = ON_PATH


class CancelTaskBody(c.CancelTask):
    """The (optional) body of `POST /v1/tasks/{external_id}/cancel`."""

    model_config = ON_PATH


class CompleteTaskBody(c.CompleteTask):
    """The (optional) body of `POST /v1/tasks/{external_id}/complete`."""

    model_config = ON_PATH


class RescheduleTaskBody(c.RescheduleTask):
    """The body of `POST /v1/tasks/{external_id}/reschedule`."""

    model_config = ON_PATH


class PauseTaskBody(c.PauseTask):
    """The (optional) body of `POST /v1/tasks/{external_id}/pause`."""

    model_config = ON_PATH


class ResumeTaskBody(c.ResumeTask):
    """The (optional) body of `POST /v1/tasks/{external_id}/resume`."""

    model_config = ON_PATH


LIFECYCLE_BODIES: dict[str, type[c.SourceCommand]] = {
    "cancel": CancelTaskBody,
    "complete": CompleteTaskBody,
    "reschedule": RescheduleTaskBody,
    "pause": PauseTaskBody,
    "resume": ResumeTaskBody,
}
SOURCE_BODIES: tuple[type[BaseModel], ...] = (CaptureTaskBody, UpdateTaskBody, *LIFECYCLE_BODIES.values())
