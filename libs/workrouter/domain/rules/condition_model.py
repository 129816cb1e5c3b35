"""Conditions of a rule file as pydantic models: one field with one operator, or all/any/not of conditions."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Discriminator, Field, JsonValue, Tag, field_validator, model_validator

from workrouter.domain.rules.strict import StrictModel

TASK_FIELDS = ("source", "type", "channel", "title", "priority", "requested_agent")
OPERATORS = ("equals", "in", "regex", "exists", "range")
MAX_REGEX_CHARS = 500
# Tags of the condition union; they show up in pydantic's error locations and are dropped from messages.
CONDITION_TAGS = frozenset({"<field>", "<all>", "<any>", "<not>"})
_FIELD_PATH = re.compile(r"^attributes(\.[^.]+)+$")


class Range(StrictModel):
    """Numeric bounds; a value matches when it is an int or float (not a bool) within all given bounds."""

    gt: float | None = Field(default=None, description="Greater than.")
    gte: float | None = Field(default=None, description="Greater than or equal to.")
    lt: float | None = Field(default=None, description="Less than.")
    lte: float | None = Field(default=None, description="Less than or equal to.")

    @model_validator(mode="after")
    def _not_empty(self) -> Range:
        if self.gt is None and self.gte is None and self.lt is None and self.lte is None:
            raise ValueError("give at least one of gt, gte, lt, lte")
        if self.gt is not None and self.gte is not None:
            raise ValueError("give gt or gte, not both")
        if self.lt is not None and self.lte is not None:
            raise ValueError("give lt or lte, not both")
        low, high = (self.gt if self.gte is None else self.gte), (self.lt if self.lte is None else self.lte)
        inclusive = self.gte is not None and self.lte is not None
        if low is not None and high is not None and (low > high or (low == high and not inclusive)):
            raise ValueError(f"no number satisfies {self.model_dump(exclude_none=True)}")
        return self


class FieldCondition(StrictModel):
    """Test one field of the task with exactly one operator."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 2, "maxProperties": 2})
    null_hint: ClassVar[str] = "; to test that a field is absent use `exists: false`"

    field: str = Field(
        description="A task field (source, type, channel, title, priority, requested_agent) or attributes.<key>..."
    )
    equals: JsonValue | None = Field(
        default=None, description="Equal to this value (JSON equality: 1 == 1.0, true != 1)."
    )
    in_: list[JsonValue] | None = Field(
        default=None, alias="in", min_length=1, description="Equal to one of these values."
    )
    regex: str | None = Field(
        default=None, max_length=MAX_REGEX_CHARS, description="A string the Python regular expression finds (search)."
    )
    exists: bool | None = Field(
        default=None, description="true: the field is present and not null; false: it is absent or null."
    )
    range: Range | None = Field(default=None, description="A number within these bounds.")

    @field_validator("field")
    @classmethod
    def _known_field(cls, path: str) -> str:
        if path not in TASK_FIELDS and not _FIELD_PATH.match(path):
            raise ValueError(f"unknown field {path!r} (use one of {', '.join(TASK_FIELDS)} or attributes.<key>)")
        return path

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_operator(self) -> FieldCondition:
        given = self.operators()
        if len(given) != 1:
            found = f"got {', '.join(given)}" if given else "got none"
            raise ValueError(f"give exactly one operator of {', '.join(OPERATORS)} ({found}; combine with all/any)")
        return self

    def operators(self) -> list[str]:
        """The operators given, by their names in the file."""
        return [op for op in OPERATORS if ("in_" if op == "in" else op) in self.model_fields_set]


class AllCondition(StrictModel):
    """True when every listed condition is true."""

    all: list[Condition] = Field(min_length=1)


class AnyCondition(StrictModel):
    """True when at least one listed condition is true."""

    any: list[Condition] = Field(min_length=1)


class NotCondition(StrictModel):
    """True when the condition is false."""

    not_: Condition = Field(alias="not")


def _condition_kind(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return next((f"<{k}>" for k in ("all", "any", "not") if k in value), "<field>")


Condition = Annotated[
    Annotated[FieldCondition, Tag("<field>")]
    | Annotated[AllCondition, Tag("<all>")]
    | Annotated[AnyCondition, Tag("<any>")]
    | Annotated[NotCondition, Tag("<not>")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message="a condition is a mapping: {field: PATH, <operator>: ...}, {all|any: [...]} or {not: ...}",
    ),
]


AllCondition.model_rebuild()
AnyCondition.model_rebuild()
NotCondition.model_rebuild()
