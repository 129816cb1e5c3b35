"""Report parameters from hostile text: each refused with the parameter named, or a request within bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workrouter.domain.reporting.bounds import EARLIEST, LATEST, MAX_THRESHOLD_SECONDS, zone_problem
from workrouter.domain.reporting.parse import parse_request
from workrouter.domain.reporting.problems import ReportParameterError
from workrouter.domain.reporting.request import ReportRequest

DAY = ("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z")


def refused(start: str | None = DAY[0], end: str | None = DAY[1], **kwargs: str) -> dict[str, str]:
    """The problems by parameter (fails when the request is taken)."""
    with pytest.raises(ReportParameterError) as caught:
        parse_request(start, end, **kwargs)
    return {p.parameter: p.message for p in caught.value.problems}


@pytest.mark.parametrize(
    ("kwargs", "parameter", "says"),
    [
        ({"thresholds": "99999999999"}, "thresholds", "from 1 to 31,536,000"),
        ({"thresholds": "2147483648"}, "thresholds", "from 1 to 31,536,000"),
        ({"thresholds": "9" * 5000}, "thresholds", "at most 128"),
        ({"thresholds": "-5"}, "thresholds", "not a number of seconds"),
        ({"thresholds": "0"}, "thresholds", "from 1 to"),
        ({"thresholds": "1_0"}, "thresholds", "not a number of seconds"),
        ({"thresholds": "\uff11"}, "thresholds", "U+FF11"),
        ({"thresholds": "20,20"}, "thresholds", "ascending"),
        ({"thresholds": ",".join(str(i) for i in range(1, 14))}, "thresholds", "1 to 12"),
        ({"thresholds": ""}, "thresholds", "empty"),
        ({"tz": "UTC\x00"}, "tz", "U+0000"),
        ({"tz": "\udcff"}, "tz", "U+DCFF"),
        ({"tz": "\ud800"}, "tz", "U+D800"),
        ({"tz": "localtime"}, "tz", "unknown time zone"),
        ({"tz": "right/UTC"}, "tz", "unknown time zone"),
        ({"tz": "../../etc/passwd"}, "tz", "unknown time zone"),
        ({"tz": "Mars/Olympus"}, "tz", "unknown time zone 'Mars/Olympus'"),
        ({"tz": "Europe/Berlin\n"}, "tz", "U+000A"),
        ({"tz": ""}, "tz", "empty"),
        ({"group": "queue\x00"}, "group", "U+0000"),
        ({"group": ", ,"}, "group", "names no dimension"),
        ({"interval": "week"}, "interval", "unknown interval 'week'"),
        ({"interval": "\x7f"}, "interval", "U+007F"),
    ],
)
def test_a_hostile_parameter_is_refused_by_name(kwargs: dict[str, str], parameter: str, says: str) -> None:
    problems = refused(**kwargs)
    assert list(problems) == [parameter]
    assert says in problems[parameter]


@pytest.mark.parametrize(
    ("start", "end", "parameter", "says"),
    [
        ("0001-01-01T00:00:00+14:00", DAY[1], "from", "before 1970-01-01T00:00:00Z"),
        (DAY[0], "9999-12-31T23:00:00-14:00", "to", "after 3000-01-01T00:00:00Z"),
        ("1969-12-31T23:59:59.999999Z", DAY[1], "from", "before 1970"),
        ("2999-12-31T00:00:00Z", "3000-01-01T00:00:00.000001Z", "to", "after 3000"),
        (DAY[1], DAY[0], "to", "the period is empty"),
        (DAY[0], DAY[0], "to", "the period is empty"),
        (DAY[0], "2027-12-31T00:00:00Z", "to", "longer than 400 days"),
        ("2026-02-30T00:00:00Z", DAY[1], "from", "day is out of range"),
        ("2026-11-02T24:00:00Z", DAY[1], "from", "not a valid date-time"),
        ("2026-11-02T00:00:00+24:00", DAY[1], "from", "not a valid date-time"),
        ("2026-11-02T00:00:00 01:00", DAY[1], "from", "send it as %2B"),
        ("2026-11-02", DAY[1], "from", "not a date-time"),
        ("1234567890", DAY[1], "from", "not a date-time"),
        ("2026-11-02T00:00:00", DAY[1], "from", "not a date-time"),
        (None, DAY[1], "from", "missing"),
        (DAY[0], "", "to", "empty"),
        (DAY[0], "2026-11-03T00:00:00Z\x00", "to", "U+0000"),
    ],
)
def test_a_period_outside_the_bounds_is_refused_by_name(start: str | None, end: str, parameter: str, says: str) -> None:
    problems = refused(start, end)
    assert parameter in problems
    assert says in problems[parameter]


def test_every_problem_is_named_at_once() -> None:
    assert set(refused(None, "x", interval="week", tz="Mars/X", thresholds="a")) == {
        "from",
        "to",
        "interval",
        "tz",
        "thresholds",
    }


def test_the_bounds_themselves_are_taken() -> None:
    request = parse_request("1970-01-01T00:00:00Z", "1970-01-02T00:00:00+00:00", tz="Pacific/Kiritimati")
    assert request.start == EARLIEST
    assert parse_request("2999-01-01T00:00:00Z", "3000-01-01T00:00:00Z").end == LATEST
    assert parse_request(DAY[0], DAY[1], thresholds=f"1, 60,{MAX_THRESHOLD_SECONDS}").thresholds == (
        1,
        60,
        MAX_THRESHOLD_SECONDS,
    )


def test_too_many_intervals_name_the_interval() -> None:
    problems = refused("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", interval="15m")
    assert "at most 10,000" in problems["interval"]
    assert parse_request("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", interval="hour").interval == "hour"


def test_a_request_built_in_code_is_held_to_the_same_bounds() -> None:
    with pytest.raises(ValueError, match="before 1970"):
        ReportRequest(start=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), end=EARLIEST + timedelta(days=1))
    with pytest.raises(ValueError, match="from 1 to"):
        ReportRequest(start=EARLIEST, end=EARLIEST + timedelta(days=1), thresholds=(2**31,))


def test_zones_are_the_iana_database_s_names() -> None:
    assert zone_problem("Europe/Berlin") is None
    assert zone_problem("UTC") is None
    assert zone_problem("posixrules") is not None


def outcome(start: str | None, end: str | None, **kwargs: str | None) -> ReportRequest | ReportParameterError:
    """The request, or the refusal."""
    try:
        return parse_request(start, end, **kwargs)
    except ReportParameterError as exc:
        return exc


TEXT = st.one_of(st.none(), st.text(max_size=40), st.text(alphabet="0123456789,:-+TZ. ", max_size=30))
TIMES = st.one_of(
    TEXT,
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1969, 1, 1), max_value=datetime(3001, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat().replace("+00:00", "Z")
    ),
)


@given(
    start=TIMES,
    end=TIMES,
    interval=st.one_of(TEXT, st.sampled_from(["15m", "hour", "day", "total"])),
    group=st.one_of(TEXT, st.sampled_from(["queue", "queue,channel", "skill", "code"])),
    tz=st.one_of(TEXT, st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12"])),
    thresholds=st.one_of(TEXT, st.lists(st.integers(-5, 2**40), max_size=14).map(lambda v: ",".join(map(str, v)))),
)
def test_any_text_is_a_request_within_bounds_or_a_named_refusal(
    *,
    start: str | None,
    end: str | None,
    interval: str | None,
    group: str | None,
    tz: str | None,
    thresholds: str | None,
) -> None:
    request = outcome(start, end, interval=interval, group=group, tz=tz, thresholds=thresholds)
    if isinstance(request, ReportParameterError):
        assert request.problems
        assert {p.parameter for p in request.problems} <= {"from", "to", "interval", "group", "tz", "thresholds"}
        return
    assert EARLIEST <= request.start < request.end <= LATEST
    assert all(1 <= t <= MAX_THRESHOLD_SECONDS for t in request.thresholds or ())
    assert zone_problem(request.tz) is None


OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@given(
    start=st.datetimes(min_value=datetime(1969, 12, 30), max_value=datetime(3000, 1, 2)),
    span=st.timedeltas(min_value=timedelta(days=-1), max_value=timedelta(days=401)),
    offsets=st.tuples(OFFSETS, OFFSETS),
)
def test_a_period_is_taken_exactly_when_it_lies_within_the_bounds(
    start: datetime, span: timedelta, offsets: tuple[timezone, timezone]
) -> None:
    begin = start.replace(tzinfo=offsets[0])
    try:
        finish = (begin + span).astimezone(offsets[1])
    except OverflowError:
        return
    inside = begin >= EARLIEST and finish <= LATEST and timedelta(0) < span <= timedelta(days=400)
    request = outcome(begin.isoformat(), finish.isoformat())
    if isinstance(request, ReportParameterError):
        assert not inside, request
        return
    assert inside
    assert (request.start, request.end) == (begin, finish)
