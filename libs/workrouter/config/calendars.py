"""calendars.yaml: business calendars (opening hours, time zone, public holidays, closed dates) by name.

Checked with the other files by `workrouter config check DIR`; its JSON Schema is written by
`workrouter config schemas docs`.
"""

from __future__ import annotations

import difflib
import json
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import holidays
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import ErrorDetails

from workrouter.config.files import ConfigError
from workrouter.config.routing_types import refuse_repeats
from workrouter.config.rules_file import read_rule_file
from workrouter.domain.calendar import (
    ALWAYS_OPEN,
    ALWAYS_OPEN_NAME,
    HOURS_PATTERN,
    BusinessCalendar,
    never_closed,
    parse_hours,
)
from workrouter.domain.durations import DURATION_PATTERN, parse_duration
from workrouter.domain.names import Name
from workrouter.domain.rules.errors import RuleSetError
from workrouter.domain.rules.model import WithoutNulls
from workrouter.domain.rules.strict import StrictModel

FILE_NAME = "calendars.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _hours_text(value: Any) -> Any:
    if isinstance(value, str):
        parse_hours(value)
    return value


def _business_day(value: Any) -> Any:
    seconds = parse_duration(value)
    if seconds > 86_400:
        raise ValueError(f"a business day is at most 24h, got {value!r}")
    return seconds


Hours = Annotated[
    str,
    BeforeValidator(_hours_text),
    WithJsonSchema(
        {"type": "string", "pattern": HOURS_PATTERN, "examples": ["08:00-18:00", "08:00-12:00,13:00-24:00"]}
    ),
]
BusinessDay = Annotated[
    int,
    BeforeValidator(_business_day),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": DURATION_PATTERN, "minLength": 2},
                {"type": "integer", "exclusiveMinimum": 0, "maximum": 86_400},
            ],
            "description": "Open time one 'd' of a duration means on this calendar: '8h', '7h30m', at most 24h.",
        }
    ),
]


class HolidaySource(StrictModel):
    """Public holidays from the `holidays` library: a country and optionally a subdivision (state, region)."""

    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. DE, US, GB.")
    subdiv: str | None = Field(default=None, description="Subdivision code, e.g. BY (Bavaria), NY, ENG.")
    observed: StrictBool = Field(default=True, description="Also close on observed (substitute) days.")

    @field_validator("country")
    @classmethod
    def _known_country(cls, country: str) -> str:
        known = holidays.list_supported_countries()
        if country not in known:
            close = difflib.get_close_matches(country.upper(), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown country code {country!r}{hint}; use an ISO 3166-1 alpha-2 code such as DE")
        return country

    @field_validator("subdiv")
    @classmethod
    def _known_subdiv(cls, subdiv: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")  # absent when the country was refused
        known = holidays.list_supported_countries().get(country, []) if isinstance(country, str) else []
        if subdiv is not None and isinstance(country, str) and subdiv not in known:
            raise ValueError(f"unknown subdivision {subdiv!r} of {country} (known: {', '.join(known) or 'none'})")
        return subdiv


class CalendarConfig(StrictModel):
    """One business calendar."""

    name: Name = Field(description="Name used by rules (sla.calendar) and escalation.yaml; '24x7' is built in.")
    timezone: str = Field(description="IANA time zone of the opening hours, e.g. Europe/Berlin.")
    hours: dict[Weekday, Hours] = Field(
        json_schema_extra={"minProperties": 1},
        description="Opening hours per weekday (mon..sun), local time: '08:00-18:00' or '08:00-12:00,13:00-17:00'; "
        "24:00 allowed as an end; a day left out is closed.",
    )
    holidays: HolidaySource | None = Field(default=None, description="Public holidays on which the calendar closes.")
    closed: list[Annotated[date, Strict(False)]] = Field(default_factory=list, description="Extra closed dates.")
    business_day: BusinessDay = 8 * 3600

    @field_validator("name", mode="before")
    @classmethod
    def _not_built_in(cls, name: Any) -> Any:
        if name == ALWAYS_OPEN_NAME:
            raise ValueError(f"{ALWAYS_OPEN_NAME!r} is built in (always open); give this calendar another name")
        return name

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, key: str) -> str:
        try:
            zoneinfo.ZoneInfo(key)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(key, zoneinfo.available_timezones(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown time zone {key!r}{hint}; use an IANA name such as Europe/Berlin") from None
        return key

    @field_validator("hours")
    @classmethod
    def _open_sometimes(cls, hours: dict[str, str]) -> dict[str, str]:
        if not hours:
            raise ValueError("no opening hours on any day: give at least one day, e.g. mon: '08:00-18:00'")
        return hours

    def to_calendar(self) -> BusinessCalendar:
        """The domain calendar this entry describes."""
        return BusinessCalendar(
            name=self.name,
            tz=zoneinfo.ZoneInfo(self.timezone),
            hours=tuple(parse_hours(self.hours[day]) if day in self.hours else () for day in WEEKDAYS),
            is_closed_day=_closed_days(self.holidays, frozenset(self.closed)),
            business_day_seconds=self.business_day,
        )


def _closed_days(source: HolidaySource | None, extra: frozenset[date]) -> Callable[[date], bool]:
    if source is None and not extra:
        return never_closed
    public = None  # holidays expands its dates year by year as they are looked up
    if source is not None:
        public = holidays.country_holidays(source.country, subdiv=source.subdiv, observed=source.observed)

    def is_closed_day(day: date) -> bool:
        return day in extra or (public is not None and day in public)

    return is_closed_day


class CalendarsFile(StrictModel):
    """The calendars.yaml document."""

    model_config = ConfigDict(title="workrouter business calendars")

    calendars: list[CalendarConfig] = Field(description="Business calendars; '24x7' always exists besides these.")

    @field_validator("calendars")
    @classmethod
    def _distinct(cls, calendars: list[CalendarConfig]) -> list[CalendarConfig]:
        refuse_repeats([c.name for c in calendars], "calendar", "name")
        return calendars


def _problem(path: Path, doc: Any, error: ErrorDetails) -> str:
    """`path: calendars[i].field (calendar 'name'): message`."""
    loc = (*error["loc"], *(error.get("ctx") or {}).get("at", ()))
    message = error["msg"].removeprefix("Value error, ")
    if loc and loc[-1] == "[key]":
        loc, message = loc[:-1], f"key: {message}"
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "<root>"
    entries = doc.get("calendars") if isinstance(doc, dict) else None
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(entries, list) and loc[1] < len(entries):
        name = entries[loc[1]].get("name") if isinstance(entries[loc[1]], dict) else None
        where += f" (calendar {name!r})" if isinstance(name, str) else ""
    return f"{path}: {where}: {message}"


def read_calendars(path: Path) -> CalendarsFile:
    """Parse and validate one calendars.yaml; raises ConfigError naming each calendar and field at fault."""
    try:
        doc = read_rule_file(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc}") from None
    except RuleSetError as exc:
        raise ConfigError(str(exc)) from None
    if doc is None:
        raise ConfigError(f"{path}: the file is empty; write `calendars: []` for none besides 24x7")
    try:
        return CalendarsFile.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError("\n".join(_problem(path, doc, e) for e in exc.errors())) from None


def load_calendars(config_dir: Path) -> Mapping[str, BusinessCalendar]:
    """The calendars of `config_dir`/calendars.yaml by name, with '24x7'; only '24x7' when the file is absent."""
    path = config_dir / FILE_NAME
    configs = read_calendars(path).calendars if path.exists() else []
    return MappingProxyType({ALWAYS_OPEN_NAME: ALWAYS_OPEN, **{c.name: c.to_calendar() for c in configs}})


def schema_json() -> str:
    """The JSON Schema of calendars.yaml (docs/calendars.schema.json)."""
    draft = "https://json-schema.org/draft/2020-12/schema"
    schema = CalendarsFile.model_json_schema(schema_generator=WithoutNulls)
    return json.dumps({"$schema": draft, **schema}, indent=2, ensure_ascii=False) + "\n"
