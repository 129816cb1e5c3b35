"""What a report is asked for: which report, the period, the interval, the grouping (validated, pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from workrouter.domain.reporting.dimensions import MAX_THRESHOLDS

Interval = Literal["15m", "hour", "day", "total"]
INTERVAL_STEPS: dict[str, timedelta | None] = {
    "15m": timedelta(minutes=15),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "total": None,
}
MAX_PERIOD = timedelta(days=400)


class ReportSpec(BaseModel):
    """A report's name, what it tells, and which groupings it takes."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    groups: tuple[str, ...] = Field(description="Dimensions it can be grouped by (beside the interval).")
    always: tuple[str, ...] = Field(default=(), description="Dimensions every row has.")
    default_groups: tuple[str, ...] = ()


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

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin") from None
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is None:
            return None
        if not 1 <= len(value) <= MAX_THRESHOLDS:
            raise ValueError(f"give 1 to {MAX_THRESHOLDS} service-level thresholds, got {len(value)}")
        if any(t <= 0 for t in value) or list(value) != sorted(set(value)):
            raise ValueError("service-level thresholds must be positive seconds in ascending order, e.g. 20,60,300")
        return value

    @model_validator(mode="after")
    def _period(self) -> ReportRequest:
        if self.end <= self.start:
            raise ValueError(f"the period is empty: end ({self.end.isoformat()}) must be after start")
        if self.end - self.start > MAX_PERIOD:
            raise ValueError(f"the period is longer than {MAX_PERIOD.days} days; ask for a shorter one")
        return self

    @property
    def step(self) -> timedelta | None:
        """The interval's length, or None for one row over the whole period."""
        return INTERVAL_STEPS[self.interval]

    def for_spec(self, spec: ReportSpec) -> ReportRequest:
        """This request checked against a report: unknown groupings refused, the report's always-groups added."""
        unknown = [g for g in self.group_by if g not in spec.groups]
        if unknown:
            known = ", ".join(spec.groups) or "nothing"
            raise ValueError(f"report {spec.name!r} cannot be grouped by {', '.join(unknown)}; it takes: {known}")
        wanted = self.group_by or spec.default_groups
        groups = tuple(dict.fromkeys((*spec.always, *wanted)))
        return self.model_copy(update={"group_by": groups})


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
