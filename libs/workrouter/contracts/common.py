"""Value types shared by several payloads."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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
