"""Field types shared by the router's configuration files: names, levels, durations, and located errors."""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from workrouter.domain.durations import DURATION_PATTERN, MAX_SECONDS, parse_duration

SKILL_PATTERN = r"^[a-z][a-z0-9_.:-]{0,63}$"

SkillName = Annotated[str, Field(pattern=SKILL_PATTERN)]
Level = Annotated[int, Field(strict=True, ge=0, le=100)]
Label = Annotated[str, Field(min_length=1, max_length=100)]

_DURATION_TEXT = {"type": "string", "pattern": DURATION_PATTERN, "minLength": 2}
_DURATION_HELP = "'90s', '5m', '2h', '1h30m' or a number of seconds."


def to_seconds(value: Any) -> Any:
    """Seconds in a duration written as text ('5m', '0s') or a number; numbers pass on to the field's bounds."""
    if isinstance(value, bool):
        raise ValueError(f"a duration is text like '30s', '5m', '2h' or a number of seconds, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a duration must be a finite number, got {value!r}")
    if isinstance(value, str):
        match = re.fullmatch(DURATION_PATTERN, value)
        if match is not None and any(match.groups()) and not any(int(g) for g in match.groups() if g):
            return 0
        return parse_duration(value)
    return value


def _duration(minimum: str, json_type: str) -> WithJsonSchema:
    number = {"type": json_type, minimum: 0, "maximum": MAX_SECONDS}
    return WithJsonSchema({"anyOf": [_DURATION_TEXT, number], "description": _DURATION_HELP})


Seconds = Annotated[
    float,
    BeforeValidator(to_seconds),
    Field(ge=0, le=MAX_SECONDS),
    _duration("minimum", "number"),
]
PositiveSeconds = Annotated[
    float,
    BeforeValidator(to_seconds),
    Field(gt=0, le=MAX_SECONDS),
    _duration("exclusiveMinimum", "number"),
]
WholeSeconds = Annotated[
    int,
    BeforeValidator(to_seconds),
    Field(gt=0, le=MAX_SECONDS),
    _duration("exclusiveMinimum", "integer"),
]


def located(message: str, *at: int | str) -> PydanticCustomError:
    """A validation error whose `at` (in ctx) extends the field's location to the exact item at fault."""
    return PydanticCustomError("routing_config", message, {"at": at})


def first_repeat(values: Sequence[Hashable]) -> tuple[int, int] | None:
    """(index of the first value seen before, index where it was first seen), or None when all differ."""
    seen: dict[Hashable, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            return index, seen[value]
        seen[value] = index
    return None


def refuse_repeats(values: Sequence[Hashable], what: str, *field: str) -> None:
    """Raise a located error at the second occurrence of any value."""
    repeat = first_repeat(values)
    if repeat is not None:
        index, first = repeat
        raise located(f"{what} {values[index]!r} is listed twice (first at [{first}])", index, *field)
