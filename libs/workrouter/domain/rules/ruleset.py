"""Validate a parsed rule file and compile it into an immutable, ready-to-evaluate RuleSet."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from workrouter.domain.calendar import ALWAYS_OPEN, BusinessCalendar, open_seconds_of
from workrouter.domain.rules.condition_model import CONDITION_TAGS
from workrouter.domain.rules.conditions import Predicate, compile_condition
from workrouter.domain.rules.errors import RuleSetError
from workrouter.domain.rules.index import RuleIndex, build_index
from workrouter.domain.rules.model import DEFAULT_CALENDAR, Assignments, Rule, RuleFile

# One step of a rule's `set`: the key in the file, and the Classification fields it writes.
Assignment = tuple[str, Mapping[str, Any]]


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """One rule, ready to evaluate."""

    id: str
    position: int  # 1-based position in the file
    description: str | None
    default: bool
    continues: bool
    matches: Predicate
    assignments: tuple[Assignment, ...]
    updates: Mapping[str, Any]  # all assignments merged (a plain dict: dict.update from a proxy is 4x slower)
    keys: frozenset[str]  # the `set` keys this rule assigns


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A validated rule set: rules in file order, the default rule last."""

    version: str
    rules: tuple[CompiledRule, ...]
    priority_levels: Mapping[str, int]
    index: RuleIndex = field(repr=False)  # which of the conditional rules may match a task
    conditional: tuple[CompiledRule, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "conditional", self.rules[:-1])

    @property
    def default(self) -> CompiledRule:
        """The default rule (always the last)."""
        return self.rules[-1]


def _always(facts: Mapping[str, Any]) -> bool:
    return True


def _label(doc: Mapping[str, Any], index: int) -> str:
    rules = doc.get("rules")
    raw = rules[index] if isinstance(rules, list) and index < len(rules) else None
    rule_id = raw.get("id") if isinstance(raw, Mapping) else None
    return f"rule {rule_id!r} (#{index + 1})" if isinstance(rule_id, str) and rule_id else f"rule #{index + 1}"


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if part in CONDITION_TAGS:
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(doc: Mapping[str, Any], error: ErrorDetails) -> str:
    loc = tuple(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required key is missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] not in ("value_error", "condition") and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    if len(loc) >= 2 and loc[-1] == "[key]":
        loc, message = loc[:-2], f"key {loc[-2]!r}: {message}"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        where, path = _label(doc, loc[1]), _path(loc[2:])
        return f"{where}: {path}: {message}" if path else f"{where}: {message}"
    path = _path(loc)
    return f"{path}: {message}" if path else message


def _structure_problems(rules: list[Rule]) -> list[tuple[int, str]]:
    """(position, problem) for duplicate ids, a missing, extra or misplaced default, and a missing `when`."""
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    defaults = [position for position, rule in enumerate(rules, start=1) if rule.default]
    for position, rule in enumerate(rules, start=1):
        where = f"rule {rule.id!r} (#{position})"
        if rule.id in seen:
            problems.append((position, f"{where}: id: duplicate of rule #{seen[rule.id]}"))
        seen.setdefault(rule.id, position)
        if not rule.default:
            if rule.when is None:
                problems.append((position, f"{where}: when: required key is missing (only the default rule has none)"))
            continue
        if rule.when is not None:
            problems.append((position, f"{where}: when: the default rule has no condition (it always applies)"))
        if rule.continue_:
            problems.append((position, f"{where}: continue: not allowed on the default rule (it is the last)"))
        if position != len(rules):
            problems.append((position, f"{where}: default: the default rule must be the last rule"))
        if position != defaults[0]:
            problems.append((position, f"{where}: default: only one default rule is allowed (#{defaults[0]} is one)"))
    if not defaults:
        problems.append(
            (len(rules) + 1, "rules: no default rule: end the list with a rule `default: true` and no `when`")
        )
    return problems


def _assignments(
    values: Assignments, levels: Mapping[str, int], where: str, calendars: Mapping[str, BusinessCalendar]
) -> tuple[Assignment, ...]:
    steps: list[Assignment] = []
    if values.queue is not None:
        steps.append(("queue", {"queue": values.queue}))
    if values.skills is not None:
        steps.append(("skills", {"skills": tuple(values.skills)}))
    if isinstance(values.priority, str):
        if values.priority not in levels:
            known = ", ".join(levels)
            raise RuleSetError(f"{where}: set.priority: unknown level {values.priority!r} (known: {known})")
        steps.append(("priority", {"priority": levels[values.priority]}))
    elif values.priority is not None:
        steps.append(("priority", {"priority": values.priority}))
    if values.sla is not None:
        seconds = open_seconds_of(values.sla.duration, calendars.get(values.sla.calendar, ALWAYS_OPEN))
        steps.append(("sla", {"sla_seconds": seconds, "sla_calendar": values.sla.calendar}))
    if values.due is not None:
        steps.append(("due", {"due_in_seconds": values.due}))
    if values.expiry is not None:
        steps.append(("expiry", {"expires_in_seconds": values.expiry}))
    if values.business_value is not None:
        steps.append(("business_value", {"business_value": float(values.business_value)}))
    return tuple(steps)


def _compile(
    rule: Rule, position: int, levels: Mapping[str, int], calendars: Mapping[str, BusinessCalendar]
) -> CompiledRule:
    steps = _assignments(rule.set_, levels, f"rule {rule.id!r} (#{position})", calendars)
    return CompiledRule(
        id=rule.id,
        position=position,
        description=rule.description,
        default=rule.default,
        continues=rule.continue_,
        matches=_always if rule.when is None else compile_condition(rule.when),
        assignments=steps,
        updates={k: v for _, fields in steps for k, v in fields.items()},
        keys=frozenset(key for key, _ in steps),
    )


def _content_version(doc: Mapping[str, Any], source_text: str | None) -> str:
    text = source_text if source_text is not None else json.dumps(doc, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def parse_ruleset(
    doc: Mapping[str, Any],
    *,
    source_text: str | None = None,
    known_calendars: Mapping[str, BusinessCalendar] | frozenset[str] = frozenset({DEFAULT_CALENDAR}),
) -> RuleSet:
    """Validate an already-parsed rule file and compile it; raises RuleSetError naming every problem.

    `known_calendars` are the calendars an SLA may name; an SLA's duration becomes open seconds on its
    calendar (a `d` is that calendar's business day). Given names only, every `d` is 24 hours.
    """
    if not isinstance(doc, Mapping):
        raise RuleSetError(f"a rule file is a mapping with a `rules` list, got {type(doc).__name__}")
    try:
        parsed = RuleFile.model_validate(dict(doc), context={"known_calendars": known_calendars})
    except ValidationError as exc:
        raise RuleSetError([_problem(doc, error) for error in exc.errors()]) from None
    problems = _structure_problems(parsed.rules)
    calendars = known_calendars if isinstance(known_calendars, Mapping) else {}
    compiled: list[CompiledRule] = []
    for position, rule in enumerate(parsed.rules, start=1):
        try:
            compiled.append(_compile(rule, position, parsed.priority_levels, calendars))
        except RuleSetError as exc:
            problems.extend((position, problem) for problem in exc.problems)
    if problems:
        raise RuleSetError([problem for _, problem in sorted(problems, key=lambda p: p[0])])
    return RuleSet(
        version=parsed.version or _content_version(doc, source_text),
        rules=tuple(compiled),
        priority_levels=MappingProxyType(dict(parsed.priority_levels)),
        index=build_index([rule.when for rule in parsed.rules[:-1] if rule.when is not None]),
    )
