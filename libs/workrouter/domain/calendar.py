"""Business calendars: opening hours in a time zone, closed days, and open-time arithmetic for SLAs and OLAs.

An instant is open when its local wall-clock reading (date and time in the calendar's zone) falls in
that weekday's opening hours and the date is not closed. Everything else follows from that one rule:
a wall time skipped by a spring-forward change never happens (an opening in the gap takes effect when
the gap ends), and a wall time repeated by a fall-back change happens twice (open both times if inside
the hours). See docs/calendars.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workrouter.domain.durations import split_duration

ALWAYS_OPEN_NAME = "24x7"
DAY = timedelta(days=1)
FULL_DAY = (time(0), time(0))  # 00:00 to 24:00
HORIZON = timedelta(days=3 * 366)  # add() gives up after this long without any open time
_SECOND = timedelta(seconds=1)

Interval = tuple[time, time]  # local wall-clock [start, end); an end of time(0) means 24:00
_Span = tuple[datetime, datetime]  # naive UTC [start, end)
_CLOCK = r"(?:[01]\d|2[0-3]):[0-5]\d"
_RANGE = re.compile(rf"^({_CLOCK})-({_CLOCK}|24:00)$")
HOURS_PATTERN = rf"^\s*{_CLOCK}-(?:{_CLOCK}|24:00)\s*(?:,\s*{_CLOCK}-(?:{_CLOCK}|24:00)\s*)*$"


def parse_hours(text: str) -> tuple[Interval, ...]:
    """Opening hours `08:00-12:00,13:00-17:00` as (start, end) times; an end of 24:00 becomes time(0)."""
    intervals: list[Interval] = []
    for part in (p.strip() for p in text.split(",")):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"bad range {part!r}: write HH:MM-HH:MM (00:00 to 24:00), several separated by commas")
        start, end = (time.fromisoformat(t) if t != "24:00" else time(0) for t in match.groups())
        if end != time(0) and end <= start:
            raise ValueError(f"range {part!r} does not end after it starts (a range cannot pass midnight)")
        if intervals and (intervals[-1][1] == time(0) or start < intervals[-1][1]):
            raise ValueError(f"range {part!r} overlaps or comes before the range ahead of it; list ranges in order")
        intervals.append((start, end))
    return tuple(intervals)


def never_closed(day: date) -> bool:
    """A closed-day predicate that closes no day."""
    return False


def _aware_utc(value: datetime, what: str) -> datetime:
    """`value` as a naive UTC datetime; refuses a naive input."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC).replace(tzinfo=None)


def _bounds(interval: Interval) -> tuple[timedelta, timedelta]:
    start, end = interval
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError(f"opening hours are local wall-clock times without a zone, got {interval}")
    since = timedelta(hours=start.hour, minutes=start.minute, seconds=start.second, microseconds=start.microsecond)
    until = timedelta(hours=end.hour, minutes=end.minute, seconds=end.second, microseconds=end.microsecond) or DAY
    return since, until


def _week(name: str, hours: tuple[tuple[Interval, ...], ...]) -> tuple[tuple[tuple[timedelta, timedelta], ...], ...]:
    """Each weekday's hours as offsets from local midnight; refuses bad, unsorted or overlapping intervals."""
    if len(hours) != 7:
        raise ValueError(f"calendar {name!r}: hours has {len(hours)} days, not 7 (Monday first)")
    week = []
    for weekday, intervals in enumerate(hours):
        day = [_bounds(interval) for interval in intervals]
        for i, (since, until) in enumerate(day):
            if since >= until:
                raise ValueError(f"calendar {name!r}: weekday {weekday}: {intervals[i]} ends before it starts")
            if i and since < day[i - 1][1]:
                raise ValueError(f"calendar {name!r}: weekday {weekday}: {intervals[i]} overlaps or precedes the last")
        week.append(tuple(day))
    if not any(week):
        raise ValueError(f"calendar {name!r} has no opening hours on any day")
    return tuple(week)


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Opening hours per weekday (0 = Monday) in a time zone, closed days, and the open time one `d` means."""

    name: str
    tz: ZoneInfo
    hours: tuple[tuple[Interval, ...], ...]
    is_closed_day: Callable[[date], bool] = never_closed
    business_day_seconds: int = 8 * 3600
    always_open: bool = field(init=False, repr=False)
    _week: tuple[tuple[tuple[timedelta, timedelta], ...], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.business_day_seconds <= 86_400:
            raise ValueError(f"calendar {self.name!r}: a business day is 1 s to 24 h, not {self.business_day_seconds}")
        object.__setattr__(self, "_week", _week(self.name, self.hours))
        continuous = self.is_closed_day is never_closed and all(day == (FULL_DAY,) for day in self.hours)
        object.__setattr__(self, "always_open", continuous)

    def is_open(self, t: datetime) -> bool:
        """Whether the calendar is open at instant `t`."""
        _aware_utc(t, "t")
        if self.always_open:
            return True
        local = t.astimezone(self.tz)
        day = local.date()
        if self.is_closed_day(day):
            return False
        since = local.replace(tzinfo=None) - datetime.combine(day, time(0))
        return any(start <= since < end for start, end in self._week[day.weekday()])

    def add(self, start: datetime, open_seconds: float) -> datetime:
        """The earliest instant (in UTC) at which `open_seconds` of open time have passed since `start`."""
        begin = _aware_utc(start, "start")
        if not (math.isfinite(open_seconds) and open_seconds >= 0):
            raise ValueError(f"open_seconds must be a finite number >= 0, got {open_seconds!r}")
        left = timedelta(seconds=open_seconds)
        if not left or self.always_open:
            return (begin + left).replace(tzinfo=UTC)
        for first, until in self._spans(begin):
            since = max(first, begin)
            if until <= since:
                continue
            if left <= until - since:
                return (since + left).replace(tzinfo=UTC)
            left -= until - since
        raise AssertionError("unreachable: _spans never ends without an until")  # pragma: no cover

    def open_seconds_between(self, a: datetime, b: datetime) -> float:
        """Open time in [a, b), in seconds; 0 when b is not after a."""
        begin, end = _aware_utc(a, "a"), _aware_utc(b, "b")
        if end <= begin:
            return 0.0
        if self.always_open:
            return (end - begin).total_seconds()
        total = timedelta(0)
        for since, until in self._spans(begin, end):
            if since >= end:
                break
            total += max(timedelta(0), min(until, end) - max(since, begin))
        return total.total_seconds()

    def _offset(self, utc: datetime) -> timedelta:
        offset = self.tz.fromutc(utc.replace(tzinfo=self.tz)).utcoffset()
        assert offset is not None  # a ZoneInfo always has one
        return offset

    def _change(self, since: datetime, offset: timedelta, limit: datetime) -> tuple[datetime, timedelta]:
        """The first whole second after `since` whose UTC offset is not `offset` (or `limit`), and the offset there."""
        at_limit = self._offset(limit)
        if at_limit == offset:
            return limit, offset  # assumes no zone changes and changes back within a day (none does)
        low, high = 0, math.ceil((limit - since).total_seconds())  # offset(low) == offset != offset(high)
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self._offset(since + middle * _SECOND) == offset else (low, middle)
        change = since + high * _SECOND
        return change, self._offset(change)

    def _spans(self, begin: datetime, until: datetime | None = None) -> Iterator[_Span]:
        """Open spans (naive UTC) in time order, from the one holding `begin` on, up to `until` if given.

        Time is walked in pieces with one UTC offset each, ending at the next local midnight or offset
        change; within a piece the wall clock is UTC plus the offset, so the hours map back by subtracting it.
        """
        cursor = quiet_since = begin.replace(microsecond=0)
        offset = self._offset(cursor)
        while until is None or cursor < until:
            midnight = datetime.combine((cursor + offset).date() + DAY, time(0)) - offset
            end, next_offset = self._change(cursor, offset, midnight)
            found = False
            for span in self._piece(cursor, end, offset):
                found = True
                yield span
            if found:
                quiet_since = end
            elif until is None and end - quiet_since > HORIZON:
                raise ValueError(f"calendar {self.name!r} has no open time in the 3 years after {quiet_since}Z")
            cursor, offset = end, next_offset

    def _piece(self, low: datetime, high: datetime, offset: timedelta) -> Iterator[_Span]:
        """The open spans within [low, high), a stretch of UTC time with one UTC offset."""
        first, last = (low + offset).date(), (high + offset - _SECOND).date()
        day = first
        while day <= last:
            if not self.is_closed_day(day):
                midnight = datetime.combine(day, time(0)) - offset
                for since, until in self._week[day.weekday()]:
                    span = (max(midnight + since, low), min(midnight + until, high))
                    if span[0] < span[1]:
                        yield span
            day += DAY


ALWAYS_OPEN = BusinessCalendar(
    name=ALWAYS_OPEN_NAME, tz=ZoneInfo("UTC"), hours=((FULL_DAY,),) * 7, business_day_seconds=86_400
)


def open_seconds_of(duration: str | int, calendar: BusinessCalendar) -> int:
    """Open seconds in a duration (`2d`, `1d4h`, `90s` or seconds): each `d` is one business day of `calendar`."""

    days, rest = split_duration(duration)
    return days * calendar.business_day_seconds + rest
