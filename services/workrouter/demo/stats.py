"""What the demo's simulated sources and agents did, counted as they do it."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class AgentState:
    """One simulated agent as the view shows it."""

    agent_id: str
    presence: str = "offline"
    reason: str | None = None
    working: int = 0
    capacity: int = 1
    done: int = 0


@dataclass
class DemoStats:
    """Counters the live view and the final report read."""

    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    created: Counter[str] = field(default_factory=Counter)  # by work type
    refused: int = 0  # captures the api refused (should stay 0: the demo sends valid work)
    cancelled: int = 0
    actions: Counter[str] = field(default_factory=Counter)  # accepted, rejected, ignored, completed, claimed, ...
    wrap_ups: Counter[str] = field(default_factory=Counter)
    callbacks: Counter[str] = field(default_factory=Counter)  # "source: event"
    errors: Counter[str] = field(default_factory=Counter)
    agents: dict[str, AgentState] = field(default_factory=dict)

    def elapsed(self) -> float:
        """Seconds since the demo started."""
        return time.time() - self.started

    def error(self, what: str) -> None:
        """Count an unexpected answer (the view shows the counts)."""
        self.errors[what] += 1
