"""The bounds of a report request: when a period may lie, how long it and its intervals may be, which zones and
thresholds are taken. Each check returns what is wrong (a message) or None, so the request model and the
parameter parser say the same thing."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta

from workrouter.domain.reporting.dimensions import MAX_THRESHOLDS
from workrouter.domain.reporting.problems import shown

# PostgreSQL's timestamptz and Python's datetime both hold these and far more; the bounds keep every
# conversion (to UTC, into the report's zone, interval arithmetic) clear of either one's edges.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
MAX_PERIOD = timedelta(days=400)
MAX_INTERVALS = 10_000  # rows per group: a year by the hour fits, 400 days by the quarter hour does not
MAX_THRESHOLD_SECONDS = 365 * 24 * 3600
# Names in the system's time zone folder that are not zones of the IANA database.
NOT_ZONES = frozenset({"localtime", "posixrules"})


def time_problem(at: datetime) -> str | None:
    """What is wrong with a period's start or end, or None."""
    try:
        utc = at.astimezone(UTC)
    except (OverflowError, ValueError):  # the first or last day Python holds, moved past it by the offset
        utc = EARLIEST - timedelta(days=1) if at.year < EARLIEST.year else LATEST + timedelta(days=1)
    if utc < EARLIEST:
        return f"{at.isoformat()} is before {EARLIEST:%Y-%m-%dT%H:%M:%SZ} (in UTC), the earliest a report covers"
    if utc > LATEST:
        return f"{at.isoformat()} is after {LATEST:%Y-%m-%dT%H:%M:%SZ} (in UTC), the latest a report covers"
    return None


def period_problem(start: datetime, end: datetime) -> str | None:
    """What is wrong with the period start..end (both within bounds), or None."""
    if end <= start:
        return f"the period is empty: to ({end.isoformat()}) must be after from ({start.isoformat()})"
    if end - start > MAX_PERIOD:
        return f"the period is longer than {MAX_PERIOD.days} days; ask for a shorter one"
    return None


def intervals_problem(start: datetime, end: datetime, interval: str, step: timedelta | None) -> str | None:
    """What is wrong with cutting start..end into intervals of `step` (too many of them), or None."""
    if step is None:
        return None
    count = (end - start) // step + 1
    if count > MAX_INTERVALS:
        return (
            f"the period has about {count:,} intervals of {interval}; at most {MAX_INTERVALS:,}: "
            "use a coarser interval or a shorter period"
        )
    return None


def thresholds_problem(values: tuple[int, ...]) -> str | None:
    """What is wrong with service-level thresholds in seconds, or None."""
    if not 1 <= len(values) <= MAX_THRESHOLDS:
        return f"give 1 to {MAX_THRESHOLDS} service-level thresholds, got {len(values)}"
    if any(not 1 <= t <= MAX_THRESHOLD_SECONDS for t in values):
        return f"service-level thresholds are whole seconds from 1 to {MAX_THRESHOLD_SECONDS:,} (a year)"
    if list(values) != sorted(set(values)):
        return "service-level thresholds must be in ascending order, e.g. 20,60,300"
    return None


def zone_problem(name: str) -> str | None:
    """What is wrong with a time zone name (not a zone of the IANA database), or None."""
    if name in _zones():
        return None
    return f"unknown time zone {shown(name)}; use an IANA name such as UTC or Europe/Berlin"


@functools.cache
def _zones() -> frozenset[str]:
    # available_timezones() walks the zone folders: once per process is enough.
    return frozenset(zoneinfo.available_timezones()) - NOT_ZONES
