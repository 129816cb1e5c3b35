"""Work types: a template per kind of work, with defaults and a versioned JSON Schema for its attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from workrouter.contracts.common import FieldError, SkillRequirement
from workrouter.domain.calendar import ALWAYS_OPEN, ALWAYS_OPEN_NAME, BusinessCalendar, open_seconds_of
from workrouter.domain.durations import parse_duration
from workrouter.domain.rules import Classification


class Sla(BaseModel):
    """An SLA: how long, counted in which calendar (validation context `calendars`: the known ones by name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration: str | int
    calendar: str = ALWAYS_OPEN_NAME
    _open_seconds: int = PrivateAttr(default=0)

    @field_validator("duration")
    @classmethod
    def _valid_duration(cls, value: str | int) -> str | int:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _on_calendar(self, info: ValidationInfo) -> Sla:
        calendars: Mapping[str, BusinessCalendar] = (info.context or {}).get("calendars", {})
        calendar = calendars.get(self.calendar, ALWAYS_OPEN if self.calendar == ALWAYS_OPEN_NAME else None)
        if calendar is None:
            known = ", ".join(sorted({ALWAYS_OPEN_NAME, *calendars}))
            raise ValueError(f"unknown calendar {self.calendar!r} (known: {known})")
        self._open_seconds = open_seconds_of(self.duration, calendar)
        return self

    @property
    def open_seconds(self) -> int:
        """The duration in open seconds on the calendar (a `d` is one business day of it)."""
        return self._open_seconds


class WorkTypeDefaults(BaseModel):
    """What a task of this type gets before any rule runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str | None = None
    skills: list[SkillRequirement] = Field(default_factory=list)
    priority: int | None = Field(default=None, ge=0, le=1000)
    business_value: float | None = None
    due: str | int | None = Field(default=None, description="Due this long after capture, e.g. 2d.")
    expiry: str | int | None = Field(default=None, description="Expires this long after capture.")
    sla: Sla | None = None

    @field_validator("due", "expiry")
    @classmethod
    def _valid_duration(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_duration(value)
        return value


class AttributesSchema(BaseModel):
    """A versioned JSON Schema (draft 2020-12) the task attributes must satisfy."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: int = Field(ge=1)
    json_schema: dict[str, Any] = Field(alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value


class WorkType(BaseModel):
    """One kind of work: defaults plus the attribute schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    description: str = ""
    defaults: WorkTypeDefaults = Field(default_factory=WorkTypeDefaults)
    attributes: AttributesSchema | None = Field(default=None, description="None: any JSON object.")
    _validator: Draft202012Validator | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _compile(self) -> WorkType:
        if self.attributes is not None:
            self._validator = Draft202012Validator(self.attributes.json_schema)
        return self

    def attribute_errors(self, attributes: dict[str, Any]) -> list[FieldError]:
        """Every way `attributes` breaks this type's schema, as field paths and reasons."""
        if self._validator is None:
            return []
        errors = sorted(self._validator.iter_errors(attributes), key=lambda e: list(map(str, e.absolute_path)))
        return [
            FieldError(loc=".".join(["attributes", *map(str, e.absolute_path)]), msg=e.message) for e in errors[:20]
        ]

    def base(self, ruleset_version: str) -> Classification:
        """The classification a task of this type starts from, before rules."""
        d = self.defaults
        return Classification(
            queue=d.queue,
            skills=tuple(d.skills),
            priority=d.priority,
            business_value=d.business_value,
            sla_seconds=d.sla.open_seconds if d.sla else None,
            sla_calendar=d.sla.calendar if d.sla else ALWAYS_OPEN_NAME,
            due_in_seconds=parse_duration(d.due) if d.due is not None else None,
            expires_in_seconds=parse_duration(d.expiry) if d.expiry is not None else None,
            matched=(),
            ruleset_version=ruleset_version,
        )


class WorkTypesFile(BaseModel):
    """The worktypes.yaml document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    worktypes: list[WorkType] = Field(min_length=1)
