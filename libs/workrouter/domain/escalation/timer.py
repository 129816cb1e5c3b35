"""A timer the escalation plans for a task (pure): the store (ports/timers.py) keeps and fires them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Timer:
    """One planned wake-up for a task."""

    task_id: str
    kind: str  # "sla", "ola", "expiry", "wake", "reprioritise"
    ident: str  # the instance: same ident = same timer, fires at most once
    due_at: datetime  # timezone-aware
    payload: dict[str, Any] = field(default_factory=dict)  # JSON-able; what firing needs to know
