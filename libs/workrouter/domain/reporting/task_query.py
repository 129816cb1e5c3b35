"""The task list's and a task history's query parameters, checked before any query (pure).

Every value is text a person or a console gave; each problem is named by its parameter
(ReportParameterError), so the HTTP layer answers 400 listing them all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workrouter.domain.reporting.problems import ParameterProblem, ReportParameterError, shown, text_problem
from workrouter.domain.task_state import TaskState

MAX_TASKS = 1000
DEFAULT_TASKS = 100
MAX_HISTORY = 1000
DEFAULT_HISTORY = 500
MAX_FILTER = 256  # longest filter text (queue, agent, work type and source names are far shorter)
MAX_SEQ = 2**63 - 1  # event_log.seq is a bigint
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
Order = Literal["updated", "created", "due"]
ORDERS: tuple[Order, ...] = ("updated", "created", "due")
TEXT_FILTERS = ("status", "queue", "agent", "type", "source")
FLAGS = ("open", "escalated", "error_held")
TASK_PARAMETERS = (*TEXT_FILTERS, *FLAGS, "order", "limit")
HISTORY_PARAMETERS = ("after", "limit")


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Which tasks to list (every condition given must hold), in which order, and how many at most."""

    status: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    type: str | None = None  # the work type
    source: str | None = None
    open: bool | None = None
    escalated: bool | None = None  # at least one escalation step ran
    error_held: bool | None = None  # waiting for a person now (status error_held)
    order: Order = "updated"  # updated: last changed first; created: newest first; due: soonest due first
    limit: int = DEFAULT_TASKS


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which part of a task's history: `limit` events after the one with seq `after` (0: from the first)."""

    after: int = 0
    limit: int = DEFAULT_HISTORY


def parse_task_query(params: Mapping[str, str]) -> TaskQuery:
    """The task list's query from its parameters (names as in TASK_PARAMETERS); ReportParameterError naming each."""
    problems: list[ParameterProblem] = []
    values: dict[str, Any] = {}
    for name, value in params.items():
        try:
            if name not in TASK_PARAMETERS:
                raise ValueError(f"unknown parameter; known: {', '.join(TASK_PARAMETERS)}")
            values[name] = _task_value(name, value)
        except ValueError as exc:
            problems.append(ParameterProblem(name, str(exc)))
    if problems:
        raise ReportParameterError(problems)
    renamed = {"agent_id" if name == "agent" else name: value for name, value in values.items()}
    return TaskQuery(**renamed)


def parse_history_query(params: Mapping[str, str]) -> HistoryQuery:
    """A history page's query from its parameters (after, limit); ReportParameterError naming each."""
    problems: list[ParameterProblem] = []
    values: dict[str, int] = {}
    for name, value in params.items():
        try:
            if name not in HISTORY_PARAMETERS:
                raise ValueError(f"unknown parameter; known: {', '.join(HISTORY_PARAMETERS)}")
            values[name] = _count(value, 0, MAX_SEQ) if name == "after" else _count(value, 1, MAX_HISTORY)
        except ValueError as exc:
            problems.append(ParameterProblem(name, str(exc)))
    if problems:
        raise ReportParameterError(problems)
    return HistoryQuery(**values)


def _task_value(name: str, value: str) -> Any:
    """One parameter's value as the query takes it; ValueError saying what to give instead."""
    message = text_problem(value, ascii_only=name in (*FLAGS, "order", "limit"), max_length=MAX_FILTER)
    if message is not None:
        raise ValueError(message)
    return _PARSERS.get(name, str)(value)


def _status(value: str) -> str:
    if value not in set(TaskState):
        raise ValueError(f"unknown status {shown(value)}; one of {', '.join(TaskState)}")
    return value


def _flag(value: str) -> bool:
    if value not in BOOLEANS:
        raise ValueError(f"give true or false (or yes/no, 1/0), got {shown(value)}")
    return BOOLEANS[value]


def _order(value: str) -> str:
    if value not in ORDERS:
        raise ValueError(
            f"unknown order {shown(value)}; give updated (last changed first), created (newest first) "
            "or due (soonest due first)"
        )
    return value


def _count(value: str, low: int, high: int) -> int:
    """A whole number from `low` to `high` written in ASCII digits; ValueError otherwise."""
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(high)) and low <= int(value) <= high):
        raise ValueError(f"give a whole number from {low} to {high}, got {shown(value)}")
    return int(value)


_PARSERS: dict[str, Callable[[str], object]] = {
    "status": _status,
    "open": _flag,
    "escalated": _flag,
    "error_held": _flag,
    "order": _order,
    "limit": lambda value: _count(value, 1, MAX_TASKS),
}
