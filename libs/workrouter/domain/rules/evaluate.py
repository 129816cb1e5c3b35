"""Classify a task: evaluate a RuleSet over the task's facts, starting from the work type's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workrouter.contracts.common import SkillRequirement
from workrouter.domain.rules.model import DEFAULT_CALENDAR
from workrouter.domain.rules.ruleset import RuleSet


@dataclass(frozen=True)
class Classification:
    """Where a task goes and how it is prioritised, as the rules decided it."""

    queue: str | None
    skills: tuple[SkillRequirement, ...]
    priority: int | None  # base priority 0..1000
    business_value: float | None
    sla_seconds: int | None
    sla_calendar: str  # "24x7" unless a rule says otherwise
    due_in_seconds: int | None
    expires_in_seconds: int | None
    matched: tuple[str, ...]  # ids of the rules that applied, in order
    ruleset_version: str


def _new_classification(values: dict[str, Any]) -> Classification:
    """Classification(**values) without the frozen dataclass __init__, which costs ~4 us (a setattr per field).

    Safe because `values` always holds exactly the fields, checked when the rule set was parsed.
    """
    result = object.__new__(Classification)
    result.__dict__.update(values)
    return result


_UNSET: dict[str, Any] = {
    "queue": None,
    "skills": (),
    "priority": None,
    "business_value": None,
    "sla_seconds": None,
    "sla_calendar": DEFAULT_CALENDAR,
    "due_in_seconds": None,
    "expires_in_seconds": None,
}


def _start(base: Classification | None) -> tuple[dict[str, Any], set[str]]:
    """The values to start from and the `set` keys they already fill."""
    if base is None:
        return dict(_UNSET), set()
    values = {name: getattr(base, name) for name in _UNSET}
    filled = {
        key
        for key, value in (
            ("queue", base.queue),
            ("skills", base.skills or None),
            ("priority", base.priority),
            ("business_value", base.business_value),
            ("sla", base.sla_seconds),
            ("due", base.due_in_seconds),
            ("expiry", base.expires_in_seconds),
        )
        if value is not None
    }
    return values, filled


def classify(ruleset: RuleSet, facts: Mapping[str, Any], base: Classification | None = None) -> Classification:
    """Apply the rules in order over `base`; the default rule then fills what is still unset.

    A field counts as set when `base` has it (not None; skills non-empty) or a matching rule set it.
    `base.matched` and `base.ruleset_version` are not carried over.
    """
    values, filled = _start(base)
    matched: list[str] = []
    rules = ruleset.conditional
    candidates = ruleset.index.candidates(facts)
    while candidates:  # the rules that may match, in file order (lowest bit first)
        lowest = candidates & -candidates
        candidates ^= lowest
        rule = rules[lowest.bit_length() - 1]
        if rule.matches(facts):
            values.update(rule.updates)
            filled |= rule.keys
            matched.append(rule.id)
            if not rule.continues:
                break
    default = ruleset.default
    if not default.keys <= filled:
        for key, fields in default.assignments:
            if key not in filled:
                values.update(fields)
        matched.append(default.id)
    values["matched"], values["ruleset_version"] = tuple(matched), ruleset.version
    return _new_classification(values)
