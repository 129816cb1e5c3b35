"""A report request from the text a person or a client gave (HTTP query, command line): every parameter checked
before any query runs, and every problem named by its parameter."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from workrouter.domain.reporting import bounds
from workrouter.domain.reporting.problems import ParameterProblem, ReportParameterError, shown, text_problem
from workrouter.domain.reporting.request import INTERVAL_STEPS, INTERVALS, ReportRequest

# RFC 3339 with a required offset; seconds may be left out, fractions beyond microseconds are cut.
_TIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})[Tt ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?)?(?P<z>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_SPACED_OFFSET = re.compile(r".*[0-9] [0-9]{2}:[0-9]{2}")
_SECONDS = re.compile(r"[0-9]{1,9}")
TIME_HINT = "give an RFC 3339 date-time with an offset, e.g. 2026-11-02T00:00:00Z or 2026-11-02T00:00:00+01:00"
FIELDS = {"start": "from", "end": "to", "group_by": "group"}  # model field -> parameter


def parse_request(
    start: str | None,
    end: str | None,
    *,
    interval: str | None = None,
    group: str | None = None,
    tz: str | None = None,
    thresholds: str | None = None,
) -> ReportRequest:
    """A ReportRequest from parameter text (None: not given); ReportParameterError naming every problem."""
    problems: list[ParameterProblem] = []

    def check(parameter: str, value: str | None, parse: Callable[[str], Any]) -> Any:
        if value is None:
            return None
        problem = text_problem(value, ascii_only=True)
        if problem is None:
            try:
                return parse(value)
            except ValueError as exc:
                problem = str(exc)
        problems.append(ParameterProblem(parameter, problem))
        return None

    for parameter, value in (("from", start), ("to", end)):
        if value is None:
            problems.append(ParameterProblem(parameter, f"missing: a report needs from and to; {TIME_HINT}"))
    doc: dict[str, Any] = {
        "start": check("from", start, parse_time),
        "end": check("to", end, parse_time),
        "interval": check("interval", interval, parse_interval),
        "group_by": check("group", group, parse_groups),
        "tz": check("tz", tz, parse_zone),
        "thresholds": check("thresholds", thresholds, parse_thresholds),
    }
    if doc["start"] is not None and doc["end"] is not None:
        problems += _period_problems(doc["start"], doc["end"], doc["interval"] or "total")
    if problems:
        raise ReportParameterError(problems)
    try:
        return ReportRequest.model_validate({k: v for k, v in doc.items() if v is not None})
    except ValidationError as exc:
        raise ReportParameterError(_named(exc)) from None


def _period_problems(start: datetime, end: datetime, interval: str) -> list[ParameterProblem]:
    """The period's problem (to before from, too long), else its intervals' (too many)."""
    period = bounds.period_problem(start, end)
    if period is not None:
        return [ParameterProblem("to", period)]
    cut = bounds.intervals_problem(start, end, interval, INTERVAL_STEPS[interval])
    return [] if cut is None else [ParameterProblem("interval", cut)]


def parse_time(text: str) -> datetime:
    """An RFC 3339 date-time within the bounds reports cover (ValueError saying what is wrong)."""
    match = _TIME.fullmatch(text)
    if match is None:
        if _SPACED_OFFSET.fullmatch(text):
            raise ValueError(f"{shown(text)} has a space before its offset: a '+' in a URL means a space, so send it "
                             "as %2B (e.g. %2B01:00) or give the time in UTC with Z")  # fmt: skip
        raise ValueError(f"{shown(text)} is not a date-time; {TIME_HINT}")
    z = match["z"].upper()
    try:
        offset = timedelta(0) if z == "Z" else int(z[0] + "1") * timedelta(hours=int(z[1:3]), minutes=int(z[4:6]))
        at = datetime(
            int(match["y"]), int(match["mo"]), int(match["d"]), int(match["h"]), int(match["mi"]),
            int(match["s"] or 0), int((match["f"] or "0").ljust(6, "0")[:6]), tzinfo=timezone(offset),
        )  # fmt: skip
    except ValueError as exc:  # a day, hour or offset that does not exist (Feb 30, 24:00, +24:00, a leap second)
        raise ValueError(f"{shown(text)} is not a valid date-time ({exc}); {TIME_HINT}") from None
    problem = bounds.time_problem(at)
    if problem is not None:
        raise ValueError(problem)
    return at


def parse_interval(text: str) -> str:
    """One of the interval names."""
    if text not in INTERVAL_STEPS:
        raise ValueError(f"unknown interval {shown(text)}; one of {', '.join(INTERVALS)}")
    return text


def parse_groups(text: str) -> tuple[str, ...]:
    """Comma-separated dimension names (checked against the report later: only it knows its dimensions)."""
    groups = tuple(g.strip() for g in text.split(",") if g.strip())
    if not groups:
        raise ValueError("names no dimension; give e.g. group=queue,channel")
    return groups


def parse_zone(text: str) -> str:
    """An IANA time zone name."""
    problem = bounds.zone_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def parse_thresholds(text: str) -> tuple[int, ...]:
    """Comma-separated whole seconds, ascending, within bounds."""
    parts = [p.strip() for p in text.split(",")]
    for part in parts:
        if not _SECONDS.fullmatch(part):
            too_long = part.isdigit() and part.isascii()
            raise ValueError(
                f"service-level thresholds are whole seconds from 1 to {bounds.MAX_THRESHOLD_SECONDS:,} (a year)"
                if too_long
                else f"{shown(part)} is not a number of seconds; give whole seconds separated by commas, e.g. 20,60,300"
            )
    values = tuple(int(p) for p in parts)
    problem = bounds.thresholds_problem(values)
    if problem is not None:
        raise ValueError(problem)
    return values


def _named(exc: ValidationError) -> list[ParameterProblem]:
    """pydantic's errors with the parameters' names; a problem of the whole request is the period's (`to`)."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "end"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(ParameterProblem(FIELDS.get(field, field), message))
    return problems
