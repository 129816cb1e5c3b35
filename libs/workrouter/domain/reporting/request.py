"""What a report is asked for: which report, the period, the interval, the grouping (validated, pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from workrouter.domain.reporting import bounds
from workrouter.domain.reporting.problems import ReportParameterError

Interval = Literal["15m", "hour", "day", "total"]
INTERVAL_STEPS: dict[str, timedelta | None] = {
    "15m": timedelta(minutes=15),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "total": None,
}
T = TypeVar("T")
INTERVALS: tuple[Interval, ...] = ("15m", "hour", "day", "total")


class ReportSpec(BaseModel):
    """A report's name, what it tells, and which groupings it takes."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    groups: tuple[str, ...] = Field(description="Dimensions it can be grouped by (beside the interval).")
    always: tuple[str, ...] = Field(default=(), description="Dimensions every row has.")
    default_groups: tuple[str, ...] = ()
    intervals: tuple[Interval, ...] = Field(default=INTERVALS, description="Intervals it can be cut in.")


class ReportRequest(BaseModel):
    """One run of one report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: AwareDatetime = Field(description="Start of the period (inclusive).")
    end: AwareDatetime = Field(description="End of the period (exclusive).")
    interval: Interval = "total"
    group_by: tuple[str, ...] = ()
    tz: str = Field(default="UTC", description="IANA time zone the intervals (days, hours) are cut in.")
    thresholds: tuple[int, ...] | None = Field(
        default=None, description="Service-level thresholds in seconds for every queue (default: each queue's own)."
    )

    @field_validator("start", "end")
    @classmethod
    def _within_bounds(cls, value: datetime) -> datetime:
        return _checked(value, bounds.time_problem(value))

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _checked(value, bounds.zone_problem(value))

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        return None if value is None else _checked(value, bounds.thresholds_problem(value))

    @model_validator(mode="after")
    def _period(self) -> ReportRequest:
        problem = bounds.period_problem(self.start, self.end) or bounds.intervals_problem(
            self.start, self.end, self.interval, self.step
        )
        return _checked(self, problem)

    @property
    def step(self) -> timedelta | None:
        """The interval's length, or None for one row over the whole period."""
        return INTERVAL_STEPS[self.interval]

    def for_spec(self, spec: ReportSpec) -> ReportRequest:
        """This request checked against a report: unknown groupings refused, the report's always-groups added."""
        unknown = [g for g in self.group_by if g not in spec.groups]
        if unknown:
            known = ", ".join(spec.groups) or "nothing"
            asked = ", ".join(ascii(g)[1:-1] for g in unknown)
            raise ReportParameterError.one(
                "group", f"report {spec.name!r} cannot be grouped by {asked}; it takes: {known}"
            )
        if self.interval not in spec.intervals:
            raise ReportParameterError.one(
                "interval", f"report {spec.name!r} takes interval {' or '.join(map(repr, spec.intervals))}"
            )
        wanted = self.group_by or spec.default_groups
        groups = tuple(dict.fromkeys((*spec.always, *wanted)))
        return self.model_copy(update={"group_by": groups})


def _checked(value: T, problem: str | None) -> T:
    if problem is not None:
        raise ValueError(problem)
    return value


def bucket_start(at: datetime, request: ReportRequest) -> datetime:
    """The start of the interval `at` falls in (a reference for tests and the docs; SQL does the same)."""
    step = request.step
    if step is None:
        return request.start
    zone = ZoneInfo(request.tz)
    local = at.astimezone(zone).replace(tzinfo=None)
    origin = datetime(2000, 1, 1)
    binned = origin + ((local - origin) // step) * step
    return binned.replace(tzinfo=zone)
