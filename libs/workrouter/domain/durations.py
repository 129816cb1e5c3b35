"""Durations in rule files: `30m`, `4h`, `2d`, `1d4h30m`, `90s`, or an integer number of seconds."""

from __future__ import annotations

import re
from typing import Any

_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
_PATTERN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DURATION_PATTERN = _PATTERN.pattern
MAX_SECONDS = 10 * 366 * 86_400  # ten years: anything longer is a typo


def parse_duration(value: Any) -> int:
    """Seconds in a duration given as text (`1d4h30m`) or an integer; raises ValueError if not > 0."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"a duration is text like '30m', '4h', '1d4h30m' or an integer of seconds, got {value!r}")
    if isinstance(value, int):
        seconds = value
    else:
        match = _PATTERN.match(value)
        if match is None or not any(match.groups()):
            raise ValueError(f"bad duration {value!r}: use digits with units d, h, m, s in that order, e.g. '1d4h30m'")
        seconds = sum(int(part) * size for part, (_, size) in zip(match.groups(), _UNITS, strict=True) if part)
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than 0 seconds, got {value!r}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"a duration must be at most ten years, got {value!r}")
    return seconds


def split_duration(value: Any) -> tuple[int, int]:
    """(days, other seconds) in a duration: `1d4h` gives (1, 14400); an integer is all seconds; validated as above."""
    seconds = parse_duration(value)
    match = _PATTERN.match(value) if isinstance(value, str) else None
    days = int(match.group(1) or 0) if match else 0
    return days, seconds - days * 86_400
