"""Business calendars: open-time arithmetic against a minute-by-minute walk, and worked examples for readers."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workrouter.domain.calendar import ALWAYS_OPEN, BusinessCalendar, Interval, open_seconds_of, parse_hours

BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)
WINDOW = 5 * 24 * 60  # minutes the reference walks from each start (always holds a weekend day)
WEEKDAYS_8_TO_18 = ((((time(8), time(18)),),) * 5) + ((), ())
# UTC instants at which each zone's offset changes (a DST switch); Kolkata has none.
TRANSITIONS = {
    "Europe/Berlin": ["2026-03-29T01:00", "2026-10-25T01:00"],
    "America/New_York": ["2026-03-08T07:00", "2026-11-01T06:00"],
    "Asia/Kolkata": ["2026-01-01T00:00"],
    "Australia/Lord_Howe": ["2026-04-04T15:00", "2026-10-03T15:30"],  # 30-minute shifts
    "America/Santiago": ["2026-04-05T03:00", "2026-09-06T04:00"],  # at local midnight
}


OFFICE = BusinessCalendar("office", BERLIN, WEEKDAYS_8_TO_18)


def office(**changes: Any) -> BusinessCalendar:
    """Mon-Fri 08:00-18:00 in Berlin, no holidays, 8h business day (unless changed)."""
    return replace(OFFICE, **changes)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# ---- the reference: walk UTC minutes, read each one's local wall clock -------------------------------------


@dataclass(frozen=True)
class Spec:
    """A calendar in minutes from local midnight (ends up to 1440), and closed dates."""

    zone: str
    week: tuple[tuple[tuple[int, int], ...], ...]
    closed: frozenset[date]

    def calendar(self) -> BusinessCalendar:
        def clock(minute: int) -> time:
            return time(0) if minute == 1440 else time(minute // 60, minute % 60)

        hours = tuple(tuple((clock(s), clock(e)) for s, e in day) for day in self.week)
        return BusinessCalendar("spec", ZoneInfo(self.zone), hours, is_closed_day=self.closed.__contains__)

    def open_minutes(self, start: datetime, count: int) -> list[bool]:
        """Whether each of the `count` minutes from `start` is open, read off the local wall clock."""
        zone, flags = ZoneInfo(self.zone), []
        for index in range(count):
            local = (start + index * MINUTE).astimezone(zone)
            minute = local.hour * 60 + local.minute
            hours = () if local.date() in self.closed else self.week[local.weekday()]
            flags.append(any(begin <= minute < end for begin, end in hours))
        return flags


def reference_add(flags: list[bool], start: datetime, minutes: int) -> datetime:
    """The end of the minute in which the `minutes`-th open minute completes (start itself for 0)."""
    if minutes == 0:
        return start
    seen = 0
    for index, is_open in enumerate(flags):
        seen += is_open
        if seen == minutes:
            return start + (index + 1) * MINUTE
    raise AssertionError("the window holds fewer open minutes")


POINTS = st.one_of(st.integers(0, 1440), st.sampled_from([0, 60, 90, 120, 150, 180, 210, 1380, 1440]))


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    points = sorted(set(draw(st.lists(POINTS, max_size=6))))
    points = points[: len(points) // 2 * 2]
    return tuple(zip(points[::2], points[1::2], strict=True))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Spec, datetime]:
    zone = draw(st.sampled_from(sorted(TRANSITIONS)))
    anchor = datetime.fromisoformat(draw(st.sampled_from(TRANSITIONS[zone]))).replace(tzinfo=UTC)
    start = anchor + draw(st.integers(-4 * 1440, 1440)) * MINUTE
    week = tuple(draw(day_hours()) for _ in range(7))
    if not any(week):
        week = (((0, 1440),), *week[1:])
    first = start.astimezone(ZoneInfo(zone)).date()
    closed = frozenset(first + timedelta(days=k) for k in draw(st.sets(st.integers(-1, 7), max_size=3)))
    return Spec(zone, week, closed), start


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(case=cases(), data=st.data())
def test_add_between_and_is_open_agree_with_a_minute_by_minute_walk(
    case: tuple[Spec, datetime], data: st.DataObject
) -> None:
    spec, start = case
    calendar = spec.calendar()
    flags = spec.open_minutes(start, WINDOW)
    shorter = data.draw(st.integers(0, sum(flags)), label="minutes")
    longer = data.draw(st.integers(shorter, sum(flags)), label="more minutes")
    local_start = start.astimezone(calendar.tz)  # the same instant, given in the calendar's zone

    end = calendar.add(local_start, shorter * 60)
    assert end == reference_add(flags, start, shorter)
    assert end.tzinfo is UTC
    assert calendar.open_seconds_between(start, end) == shorter * 60
    assert calendar.add(start, longer * 60) >= end  # monotonic in the duration

    i, j = sorted(data.draw(st.lists(st.integers(0, WINDOW), min_size=2, max_size=2), label="range"))
    assert calendar.open_seconds_between(start + i * MINUTE, start + j * MINUTE) == 60 * sum(flags[i:j])
    k = data.draw(st.integers(0, WINDOW - 1), label="instant")
    assert calendar.is_open(start + k * MINUTE) == flags[k]


@settings(max_examples=40, deadline=None)
@given(case=cases(), first=st.integers(0, 20 * 24 * 60), second=st.integers(1, 20 * 24 * 60))
def test_adding_in_two_steps_is_adding_once(case: tuple[Spec, datetime], first: int, second: int) -> None:
    spec, start = case
    calendar = spec.calendar()
    assert calendar.add(calendar.add(start, first * 60), second * 60) == calendar.add(start, (first + second) * 60)
    assert calendar.open_seconds_between(start, calendar.add(start, first * 60)) == first * 60


def test_the_property_anchors_are_offset_changes() -> None:
    for zone, instants in TRANSITIONS.items():
        for text in instants if zone != "Asia/Kolkata" else []:
            at = datetime.fromisoformat(text).replace(tzinfo=UTC)
            assert at.astimezone(ZoneInfo(zone)).utcoffset() != (at - MINUTE).astimezone(ZoneInfo(zone)).utcoffset()


# ---- worked examples -----------------------------------------------------------------------------------------


def test_friday_five_pm_plus_two_hours_is_monday_nine() -> None:
    assert office().add(berlin(2026, 1, 16, 17, 0), 2 * 3600) == berlin(2026, 1, 19, 9, 0)


def test_the_last_open_second_ends_at_closing_time_not_the_next_morning() -> None:
    assert office().add(berlin(2026, 1, 19, 8, 0), 10 * 3600) == berlin(2026, 1, 19, 18, 0)
    assert office().add(berlin(2026, 1, 16, 18, 0), 60) == berlin(2026, 1, 19, 8, 1)  # start at closing


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    assert office().add(berlin(2026, 1, 17, 10, 0), 3600) == berlin(2026, 1, 19, 9, 0)  # a Saturday


def test_zero_open_seconds_is_the_start_itself_even_when_closed() -> None:
    saturday = berlin(2026, 1, 17, 10, 0)
    assert office().add(saturday, 0) == saturday
    assert not office().is_open(saturday)


def test_across_christmas_with_bavarian_holidays_and_extra_closed_days() -> None:
    bavaria = holidays.country_holidays("DE", subdiv="BY")
    extra = {date(2026, 12, 24), date(2026, 12, 31)}
    with_holidays = office(is_closed_day=lambda d: d in bavaria)
    closed_too = office(is_closed_day=lambda d: d in bavaria or d in extra)
    wednesday_evening = berlin(2026, 12, 23, 17, 0)
    assert with_holidays.add(wednesday_evening, 4 * 3600) == berlin(2026, 12, 24, 11, 0)
    assert closed_too.add(wednesday_evening, 4 * 3600) == berlin(2026, 12, 28, 11, 0)  # 25, 26 are holidays


def test_across_the_march_clock_change() -> None:
    """Friday 17:00 CET + 2 open hours is Monday 09:00 CEST: 07:00 UTC, not 08:00."""
    assert office().add(berlin(2026, 3, 27, 17, 0), 2 * 3600) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    sundays = office(hours=((),) * 6 + (((time(0), time(0)),),))
    saturday, monday = berlin(2026, 3, 28, 0, 0), berlin(2026, 3, 30, 0, 0)
    assert sundays.open_seconds_between(saturday, monday) == 23 * 3600  # the skipped hour is not open time
    assert sundays.open_seconds_between(berlin(2026, 10, 24, 0, 0), berlin(2026, 10, 26, 0, 0)) == 25 * 3600


def test_an_opening_in_the_skipped_hour_takes_effect_when_the_gap_ends() -> None:
    early = office(hours=((),) * 6 + (((time(2, 30), time(4, 0)),),))
    assert not early.is_open(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
    assert early.is_open(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST, the end of the gap
    assert early.open_seconds_between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == 3600


def test_a_repeated_hour_is_open_each_time_the_clock_reads_opening_hours() -> None:
    around = office(hours=((),) * 6 + (((time(1, 0), time(3, 0)),),))
    assert around.open_seconds_between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 3 * 3600
    inside = office(hours=((),) * 6 + (((time(2, 30), time(4, 0)),),))
    # open 02:30-03:00 CEST; the clock goes back to 02:00 (closed) and reads 02:30 again at 01:30 UTC
    assert inside.is_open(datetime(2026, 10, 25, 0, 45, tzinfo=UTC))
    assert not inside.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))
    assert inside.open_seconds_between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 2 * 3600


def test_lord_howe_shifts_by_half_an_hour() -> None:
    every_day = BusinessCalendar("lhi", ZoneInfo("Australia/Lord_Howe"), (((time(0), time(0)),),) * 7)
    sunday = datetime(2026, 4, 5, tzinfo=every_day.tz)
    assert every_day.open_seconds_between(sunday, sunday + timedelta(days=1)) == 24.5 * 3600


def test_two_days_on_an_eight_hour_business_day() -> None:
    nine_to_five = office(hours=(((time(9), time(17)),),) * 5 + ((), ()))
    assert open_seconds_of("2d", nine_to_five) == 16 * 3600
    assert open_seconds_of("1d4h", nine_to_five) == 12 * 3600
    assert open_seconds_of("24h", nine_to_five) == 24 * 3600  # hours are literal: three business days
    assert open_seconds_of(5400, nine_to_five) == 5400
    assert nine_to_five.add(berlin(2026, 1, 19, 9, 0), open_seconds_of("2d", nine_to_five)) == berlin(2026, 1, 20, 17)
    assert open_seconds_of("2d", ALWAYS_OPEN) == 2 * 86_400


def test_always_open_is_plain_elapsed_time() -> None:
    start = berlin(2026, 3, 28, 12, 0)  # the night before the clocks go forward in Berlin
    assert ALWAYS_OPEN.name == "24x7"
    assert ALWAYS_OPEN.add(start, 86_400) == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    assert ALWAYS_OPEN.open_seconds_between(start, berlin(2026, 3, 29, 18, 0)) == 29 * 3600  # real time
    assert ALWAYS_OPEN.open_seconds_between(start, start - timedelta(hours=1)) == 0
    assert ALWAYS_OPEN.is_open(start)


def test_long_durations_walk_days_not_minutes() -> None:
    """Ten years of 8-hour business days on a 10-hour opening day: about 2,100 opening days, walked one by one."""
    end = office().add(berlin(2026, 1, 19, 8, 0), open_seconds_of("2600d", office()))
    assert end == berlin(2034, 1, 6, 18, 0)


# ---- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ((), "has 0 days, not 7"),
        (((),) * 7, "no opening hours on any day"),
        ((((time(18), time(8)),),) + ((),) * 6, "ends before it starts"),
        ((((time(8), time(13)), (time(12), time(17))),) + ((),) * 6, "overlaps or precedes"),
        ((((time(0), time(0)), (time(1), time(2))),) + ((),) * 6, "overlaps or precedes"),
    ],
)
def test_bad_hours_are_refused(hours: tuple[tuple[Interval, ...], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        office(hours=hours)


def test_naive_times_and_bad_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        office().add(datetime(2026, 1, 19, 8), 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        office().open_seconds_between(berlin(2026, 1, 19), datetime(2026, 1, 20))
    for amount in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="finite number >= 0"):
            office().add(berlin(2026, 1, 19, 8), amount)
    with pytest.raises(ValueError, match="a business day is"):
        office(business_day_seconds=0)


def test_a_calendar_that_is_never_open_stops_after_three_years() -> None:
    shut = office(is_closed_day=lambda d: True)
    with pytest.raises(ValueError, match="no open time in the 3 years"):
        shut.add(berlin(2026, 1, 19, 8), 60)
    assert shut.open_seconds_between(berlin(2026, 1, 1), berlin(2026, 2, 1)) == 0


def test_hours_text_is_parsed_in_order() -> None:
    assert parse_hours("08:00-12:00, 13:00-24:00") == ((time(8), time(12)), (time(13), time(0)))
    for text, message in [
        ("8-18", "bad range"),
        ("18:00-08:00", "does not end after"),
        ("09:00-12:00,11:00-13:00", "overlaps"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_hours(text)
