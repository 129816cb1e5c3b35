"""The configuration reports read beside the log: queues with their service-level thresholds and members, and codes."""

from __future__ import annotations

from dataclasses import dataclass

MAX_THRESHOLDS = 12


@dataclass(frozen=True, slots=True)
class QueueDimension:
    """One queue as reports see it."""

    queue: str
    domain: str
    thresholds: tuple[int, ...]  # service-level thresholds in seconds, ascending (at most 12)
    members: tuple[str, ...]  # agents who work the queue (fairness counts those who got nothing, too)


@dataclass(frozen=True, slots=True)
class Dimensions:
    """Everything the reporting service copies from the routing configuration into PostgreSQL."""

    queues: tuple[QueueDimension, ...]
    wrap_up_codes: tuple[str, ...]  # when not empty, a task finished without a code reports as "NS"
