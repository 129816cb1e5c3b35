"""Value types shared by several payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from workrouter.contracts.bounds import check_time

Identifier = str


class SkillRequirement(BaseModel):
    """A skill a task needs, with the minimum proficiency level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skill: str = Field(min_length=1, description="Skill name, e.g. 'finance' or 'lang:fr'.")
    min_level: int = Field(default=0, ge=0, le=100, description="Minimum proficiency (0-100).")


class FieldError(BaseModel):
    """One validation problem: where, and what is wrong."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    loc: str = Field(description="Dotted path of the offending field, e.g. 'attributes.segment'.")
    msg: str = Field(description="What is wrong and what is expected.")


RFC3339_HINT = "give a date-time as an RFC 3339 string with a time zone, e.g. 2026-11-23T17:00:00Z"


def _rfc3339(value: object) -> object:
    """Accept datetimes and ISO 8601 / RFC 3339 strings only: pydantic alone also takes numbers and '2.0'."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or "-" not in value or ":" not in value:
        raise ValueError(RFC3339_HINT)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(RFC3339_HINT) from None


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(check_time)]
"""A timezone-aware date-time: an RFC 3339 string (or a datetime), never a number, within bounds.EARLIEST..LATEST."""
