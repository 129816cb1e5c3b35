"""Escalation policies as the domain plans with them: SLA escalation ladders, OLAs per work type and due-date
reprioritisation steps (validated models; config/escalation.py reads them from escalation.yaml and cross-checks
the names they refer to).

Durations are text (`12h`, `2d`, `1d4h30m`) counted on a calendar: on a business calendar a `d` is one business
day of that calendar (docs/calendars.md), hours and minutes are open time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from workrouter.domain.durations import DURATION_PATTERN, parse_duration
from workrouter.domain.names import Name

Action = Literal["alert", "raise_priority", "move_queue", "park"]
MOVES: frozenset[str] = frozenset({"move_queue", "park"})
MAX_STEPS = 12
_PERCENT = re.compile(r"^(\d{1,4}(?:\.\d{1,2})?)%$")


def _duration_text(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"a duration is text like '30m', '12h', '2d' or a number of seconds, got {value!r}")
    parse_duration(value)  # raises with the reason
    return str(value) if isinstance(value, int) else value


DurationText = Annotated[
    str,
    BeforeValidator(_duration_text),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": DURATION_PATTERN, "minLength": 2}, {"type": "integer"}],
            "description": "'30m', '12h', '2d', '1d4h' or seconds; counted on the calendar.",
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Strict):
    """What to do when a share of the SLA has elapsed."""

    at: str = Field(description="Share of the SLA elapsed, e.g. '50%', '80%', '100%', '150%'.")
    actions: list[Action] = Field(min_length=1, description="alert, raise_priority, move_queue, park.")
    raise_by: int | None = Field(default=None, ge=1, le=1000, description="Priority points, for raise_priority.")
    queue: Name | None = Field(default=None, description="Target queue, for move_queue.")
    workbin: Name | None = Field(default=None, description="Agent whose personal workbin receives it, for park.")
    level: Literal["info", "warning", "critical"] = Field(default="warning", description="Alert severity.")

    @field_validator("at")
    @classmethod
    def _percent(cls, at: str) -> str:
        match = _PERCENT.match(at)
        if match is None or not 0 < float(match.group(1)) <= 1000:
            raise ValueError(f"a step is a share of the SLA like '80%' (above 0%, at most 1000%), got {at!r}")
        return at

    @model_validator(mode="after")
    def _targets(self) -> Step:
        _needs(self.actions, "raise_priority", "raise_by", self.raise_by)
        _needs(self.actions, "move_queue", "queue", self.queue)
        _needs(self.actions, "park", "workbin", self.workbin)
        if len(set(self.actions)) != len(self.actions):
            raise ValueError(f"actions repeat: {self.actions}")
        if set(self.actions) >= MOVES:
            raise ValueError("a step moves the task to a queue or parks it in a workbin, not both")
        return self

    @property
    def fraction(self) -> float:
        """The share of the SLA as a number (0.8 for '80%')."""
        return float(self.at[:-1]) / 100.0


def _needs(actions: Iterable[str], action: str, name: str, value: object) -> None:
    if (action in actions) != (value is not None):
        raise ValueError(f"'{name}' is given exactly when the actions include {action}")


class Applies(_Strict):
    """Which tasks a policy is for: by queue or by work type (a queue match wins over a work-type match)."""

    queues: list[Name] = Field(default_factory=list)
    worktypes: list[Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> Applies:
        if not self.queues and not self.worktypes:
            raise ValueError("name at least one queue or work type")
        return self


class SlaPolicy(_Strict):
    """An escalation ladder: steps at shares of each task's SLA (counted on the task's SLA calendar)."""

    name: Name
    applies_to: Applies
    escalate_again: StrictBool = Field(
        default=False, description="Whether a task escalation already moved may be escalated by this policy."
    )
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: list[Step]) -> list[Step]:
        for before, step in pairwise(steps):
            if step.fraction <= before.fraction:
                raise ValueError(f"steps must be in strictly ascending order: {step.at} after {before.at}")
        return steps


class Ola(_Strict):
    """An operational level for one step of a work type: not performed within `within` -> escalate."""

    worktype: Name
    within: DurationText
    calendar: Name = "24x7"
    queue: Name | None = Field(default=None, description="Queue to move the task to.")
    workbin: Name | None = Field(default=None, description="Agent whose personal workbin receives the task.")
    alert: StrictBool = True
    escalate_again: StrictBool = False

    @model_validator(mode="after")
    def _one_target(self) -> Ola:
        if (self.queue is None) == (self.workbin is None):
            raise ValueError("give exactly one target: queue or workbin")
        return self


class RaiseStep(_Strict):
    """Raise the base priority by `raise_by` once the task is due within `before_due`."""

    before_due: DurationText
    raise_by: int = Field(ge=1, le=1000)


class Reprioritisation(_Strict):
    """Priority steps as the due time nears (the continuous urgency is the router's; see docs)."""

    name: Name
    applies_to: Applies
    steps: list[RaiseStep] = Field(min_length=1, max_length=MAX_STEPS)

    @field_validator("steps")
    @classmethod
    def _nearing(cls, steps: list[RaiseStep]) -> list[RaiseStep]:
        for before, step in pairwise(steps):
            if parse_duration(step.before_due) >= parse_duration(before.before_due):
                raise ValueError(f"steps must come nearer the due time: {step.before_due} after {before.before_due}")
        return steps


class EscalationFile(_Strict):
    """The whole escalation.yaml."""

    policies: list[SlaPolicy] = Field(default_factory=list)
    olas: list[Ola] = Field(default_factory=list)
    reprioritise: list[Reprioritisation] = Field(default_factory=list)
