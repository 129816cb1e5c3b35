"""Report figures worked out from the event log in Python (pure), to compare with the reporting service's SQL.

The definitions are docs/reporting.md's, written again independently:
- tasks, per work type: opened (captured), completed, cancelled, expired, escalated (tasks with a step);
- wrap-up, per code: completions by agents (`NS` when no code was given);
- queue-summary, per queue: visits (offered), and how they ended — answered (accepted), abandoned
  (cancelled, expired, completed by the source), transferred (queued elsewhere, parked), withdrawn
  (rescheduled, paused, held in error) or still waiting — with offers to agents and RONAs during them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from tests.support.e2e_checks import histories, kind
from workrouter.contracts.envelope import Envelope

Figures = dict[str, dict[str, int]]  # row key (type, code, queue) -> figure -> value
OUTCOMES = {
    "accepted": "answered",
    "cancelled": "abandoned",
    "expired": "abandoned",
    "completed": "abandoned",
    "parked": "transferred",
    "queued": "transferred",
    "rescheduled": "withdrawn",
    "paused": "withdrawn",
    "error_held": "withdrawn",
}
QUEUE_FIGURES = ("offered", "answered", "abandoned", "transferred", "withdrawn", "waiting", "offers_to_agents", "ronas")


def task_figures(events: list[Envelope]) -> Figures:
    """Per work type: opened, completed, cancelled, expired, escalated."""
    out: Figures = defaultdict(Counter)
    for history in histories(events).values():
        captured = next((e for e in history if kind(e) == "captured"), None)
        if captured is None:
            continue
        row = out[captured.data.type]  # type: ignore[attr-defined]
        row["opened"] += 1
        for envelope in history:
            if kind(envelope) in ("completed", "cancelled", "expired"):
                row[kind(envelope)] += 1
        row["escalated"] += any(kind(e) == "escalated" for e in history)
    return {k: dict(v) for k, v in out.items()}


def wrap_up_figures(events: list[Envelope]) -> Figures:
    """Per wrap-up code: tasks completed by agents."""
    out: Counter[str] = Counter()
    for envelope in events:
        if kind(envelope) == "completed" and envelope.data.by == "agent":  # type: ignore[attr-defined]
            out[envelope.data.wrap_up_code or "NS"] += 1  # type: ignore[attr-defined]
    return {code: {"tasks": n} for code, n in out.items()}


def queue_figures(events: list[Envelope]) -> Figures:
    """Per queue: visits and their outcomes, offers to agents and RONAs during them."""
    out: Figures = defaultdict(lambda: dict.fromkeys(QUEUE_FIGURES, 0))
    for history in histories(events).values():
        visit: str | None = None  # the queue of the open visit
        for envelope in history:
            k = kind(envelope)
            queue = getattr(envelope.data, "queue", None)
            if visit is not None:
                row = out[visit]
                if k == "offered":
                    row["offers_to_agents"] += 1
                elif k == "offer_revoked" and envelope.data.reason == "rona":  # type: ignore[attr-defined]
                    row["ronas"] += 1
                elif k in OUTCOMES and not (k == "queued" and queue == visit):
                    row[OUTCOMES[k]] += 1
                    visit = None
            if k == "queued" and visit is None:
                visit = str(queue)
                out[visit]["offered"] += 1
        if visit is not None:
            out[visit]["waiting"] += 1
    return {k: dict(v) for k, v in out.items()}


def rows_by(rows: Iterable[Mapping[str, Any]], key: str, figures: Iterable[str]) -> Figures:
    """A report's rows (one interval) as figures by `key`."""
    return {str(row[key]): {f: int(row[f] or 0) for f in figures} for row in rows}


def differences(name: str, expected: Figures, reported: Figures) -> list[str]:
    """Where the report's figures differ from the ones worked out from the events (absent rows count as 0)."""
    problems = []
    for key in sorted(set(expected) | set(reported)):
        want, got = expected.get(key, {}), reported.get(key, {})
        for figure in sorted(set(want) | set(got)):
            if want.get(figure, 0) != got.get(figure, 0):
                problems.append(f"{name} {key}: {figure} is {got.get(figure, 0)} in the report, "
                                f"{want.get(figure, 0)} from the events")  # fmt: skip
    return problems
