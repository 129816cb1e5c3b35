"""The rule file as pydantic models: what a valid file is, and the source of its published JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from workrouter.contracts.common import SkillRequirement
from workrouter.domain.durations import DURATION_PATTERN, parse_duration
from workrouter.domain.rules.condition_model import Condition
from workrouter.domain.rules.strict import StrictModel

DEFAULT_LEVELS = {"low": 250, "medium": 500, "high": 750, "urgent": 900}
DEFAULT_CALENDAR = "24x7"

_DURATION_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "pattern": DURATION_PATTERN, "minLength": 2},
            {"type": "integer", "exclusiveMinimum": 0},
        ],
        "description": "'30m', '4h', '2d', '1d4h30m', '90s', or an integer number of seconds.",
    }
)
Duration = Annotated[int, BeforeValidator(parse_duration), _DURATION_SCHEMA]


def _valid_duration(value: Any) -> Any:
    parse_duration(value)
    return value


# Kept as written: an SLA's days count business days of its calendar (docs/calendars.md).
DurationText = Annotated[str | int, BeforeValidator(_valid_duration), _DURATION_SCHEMA]


class Sla(StrictModel):
    """The service level: how long the task may take, counted on a calendar."""

    duration: DurationText
    calendar: str = Field(default=DEFAULT_CALENDAR, min_length=1, description="Business calendar name.")

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, name: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("known_calendars", frozenset({DEFAULT_CALENDAR}))
        if name not in known:
            raise ValueError(f"unknown calendar {name!r} (known: {', '.join(sorted(known))})")
        return name


def _priority_value(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        if isinstance(value, int) and not 0 <= value <= 1000:
            raise ValueError(f"priority {value} is outside 0..1000")
        return value
    raise ValueError(f"priority is a level name or an integer 0..1000, got {value!r}")


class Assignments(StrictModel):
    """What a matching rule sets; keys left out keep their value."""

    queue: str | None = Field(default=None, min_length=1, description="Queue the task goes to.")
    skills: list[SkillRequirement] | None = Field(default=None, description="Skills an agent needs.")
    priority: Annotated[
        Annotated[int, Field(ge=0, le=1000)] | Annotated[str, Field(min_length=1)] | None,
        BeforeValidator(_priority_value),
    ] = Field(default=None, description="Base priority: a level name (see priority_levels) or an integer 0..1000.")
    sla: Sla | None = None
    due: Duration | None = Field(default=None, description="Due this long after capture.")
    expiry: Duration | None = Field(default=None, description="Expires this long after capture.")
    business_value: float | None = Field(default=None, ge=0, description="Value of doing the task.")

    @field_validator("skills")
    @classmethod
    def _distinct_skills(cls, skills: list[SkillRequirement]) -> list[SkillRequirement]:
        names = [s.skill for s in skills]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"skill {twice[0]!r} is listed more than once")
        return skills


class Rule(StrictModel):
    """One rule: when the condition holds, set these fields."""

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    description: str | None = None
    when: Condition | None = Field(default=None, description="Required except on the default rule.")
    set_: Assignments = Field(alias="set")
    continue_: bool = Field(default=False, alias="continue", description="Keep evaluating later rules after a match.")
    default: bool = Field(default=False, description="The last rule: fills only the fields no rule set.")


class RuleFile(StrictModel):
    """A rule set file: rules evaluated in order, ending with exactly one default rule."""

    model_config = ConfigDict(title="workrouter rule set")

    version: str | None = Field(
        default=None, min_length=1, max_length=100, description="Defaults to sha256:<first 12 hex of the file hash>."
    )
    priority_levels: dict[Annotated[str, Field(min_length=1)], Annotated[int, Field(ge=0, le=1000)]] = Field(
        default_factory=lambda: dict(DEFAULT_LEVELS), description="Level names usable as priority; replaces defaults."
    )
    rules: list[Rule] = Field(min_length=1)


Rule.model_rebuild()
RuleFile.model_rebuild()


class WithoutNulls(GenerateJsonSchema):
    """Optional keys are left out, never null (the models refuse null), so the schema shows no null."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None:
            del json_schema["default"]
        return json_schema


def rule_file_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file (published as docs/rules.schema.json)."""
    schema = RuleFile.model_json_schema(by_alias=True, schema_generator=WithoutNulls)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
