"""What the api answers, as models for its OpenAPI document (the routes build these bodies as dicts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workrouter.contracts.common import FieldError
from workrouter.services.openapi import json_success, responses
from workrouter.services.problems import MEDIA_TYPE, Problem


class Accepted(BaseModel):
    """A command accepted for the pipe; what follows is announced on the task's events."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="workrouter's id of the task (derived from the source and its id).")
    status: Literal["accepted"] = Field(description="Always `accepted`.")


class BulkItemResult(BaseModel):
    """The verdict on one item of a bulk capture."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(description="The item's place in the request's array (from 0).")
    status: Literal["accepted", "rejected"] = Field(description="Whether the item was taken.")
    task_id: str | None = Field(default=None, description="The task id of an accepted item.")
    detail: str | None = Field(default=None, description="Why a rejected item was refused.")
    errors: list[FieldError] | None = Field(default=None, description="A rejected item's refused fields.")


class BulkResult(BaseModel):
    """The answer to a bulk capture: each item judged alone (202 all taken, 207 some, 422 none)."""

    model_config = ConfigDict(extra="forbid")

    accepted: int = Field(description="How many items were taken.")
    rejected: int = Field(description="How many items were refused.")
    results: list[BulkItemResult] = Field(description="One verdict per item, in the request's order.")
    detail: str | None = Field(default=None, description="Present when some item was refused.")


def documented(*statuses: int, **success: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an api route: each error status as a Problem (application/problem+json), and `success`.
    A route that authenticates (401) is also rate-limited per source or agent, so it documents 429 too."""
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)
    return responses(Problem, MEDIA_TYPE, statuses, **success)


def accepted(description: str = "Accepted: the command is on its way.") -> dict[str, Any]:
    """The 202 of a command route."""
    return json_success(description, {"type": "object", "additionalProperties": True})


def ok(description: str) -> dict[str, Any]:
    """A 200 with a JSON object."""
    return json_success(description, {"type": "object", "additionalProperties": True})


RESPONSE_MODELS = (Problem, Accepted, BulkResult)
