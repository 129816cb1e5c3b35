"""The named business calendars escalation counts SLAs and OLAs on (see docs/calendars.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from workrouter.domain.calendar import ALWAYS_OPEN, BusinessCalendar, open_seconds_of


class CalendarBook:
    """`Calendars` over BusinessCalendar objects by name; an unknown name counts as 24x7, with a clear name in logs."""

    def __init__(self, calendars: Mapping[str, BusinessCalendar]) -> None:
        self._calendars = calendars

    def get(self, name: str) -> BusinessCalendar:
        """The calendar, or 24x7 for a name no longer configured (a task classified under an older config)."""
        return self._calendars.get(name, ALWAYS_OPEN)

    def add(self, calendar: str, start: datetime, open_seconds: float) -> datetime:
        """The instant `open_seconds` of open time after `start`."""
        return self.get(calendar).add(start, open_seconds)

    def seconds(self, calendar: str, duration: str) -> float:
        """Open seconds in a duration text ('12h', '2d': a d is one business day of the calendar)."""
        return float(open_seconds_of(duration, self.get(calendar)))
