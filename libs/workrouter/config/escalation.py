"""escalation.yaml: SLA escalation ladders, OLAs per work type and due-date reprioritisation steps.

Validated strictly and cross-checked against the queues, work types, agents and calendars it names.
Durations are text (`12h`, `2d`, `1d4h30m`) counted on a calendar: on a business calendar a `d`
is one business day of that calendar (docs/calendars.md), hours and minutes are open time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workrouter.config.files import ConfigError, read_yaml
from workrouter.domain.escalation.policy import EscalationFile


@dataclass(frozen=True)
class Known:
    """The names escalation.yaml may refer to."""

    queues: frozenset[str]
    worktypes: frozenset[str]
    agents: frozenset[str]
    calendars: frozenset[str]


def _repeated(named: list[tuple[str, str]], message: str) -> list[str]:
    """`<where>: <message>` for each (name, where) whose name came before."""
    seen: set[str] = set()
    found: list[str] = []
    for name, where in named:
        if name in seen:
            found.append(f"{where}: {message}")
        seen.add(name)
    return found


def cross_check(config: EscalationFile, known: Known) -> list[str]:
    """Every reference to an unknown queue, work type, agent or calendar, and duplicated names."""
    problems: list[str] = []

    def check(kind: str, value: str | None, names: frozenset[str], where: str) -> None:
        if value is not None and value not in names:
            problems.append(f"{where}: unknown {kind} {value!r} (known: {', '.join(sorted(names))})")

    for group, items in (("policies", config.policies), ("reprioritise", config.reprioritise)):
        problems += _repeated([(item.name, f"{group} {item.name!r}") for item in items], "the name is used twice")
        for item in items:
            where = f"{group} {item.name!r}.applies_to"
            for q in item.applies_to.queues:
                check("queue", q, known.queues, f"{where}.queues")
            for w in item.applies_to.worktypes:
                check("work type", w, known.worktypes, f"{where}.worktypes")
    for policy in config.policies:
        for i, step in enumerate(policy.steps):
            check("queue", step.queue, known.queues, f"policies {policy.name!r}.steps[{i}].queue")
            check("agent", step.workbin, known.agents, f"policies {policy.name!r}.steps[{i}].workbin")
    olas = [(ola.worktype, f"olas[{i}] ({ola.worktype})") for i, ola in enumerate(config.olas)]
    problems += _repeated(olas, "a second OLA for the same work type")
    for i, ola in enumerate(config.olas):
        where = f"olas[{i}] ({ola.worktype})"
        check("work type", ola.worktype, known.worktypes, where)
        check("queue", ola.queue, known.queues, f"{where}.queue")
        check("agent", ola.workbin, known.agents, f"{where}.workbin")
        check("calendar", ola.calendar, known.calendars, f"{where}.calendar")
    return problems


def load_escalation(path: Path, known: Known) -> EscalationFile:
    """Read and check escalation.yaml; a missing file means no escalation. Raises ConfigError."""
    if not path.exists():
        return EscalationFile()
    config = read_yaml(path, EscalationFile)
    problems = cross_check(config, known)
    if problems:
        raise ConfigError(f"{path}:\n" + "\n".join(f"  {p}" for p in problems))
    return config


def schema_json() -> str:
    """The JSON Schema of escalation.yaml (docs/escalation.schema.json)."""
    draft = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps({"$schema": draft, **EscalationFile.model_json_schema()}, indent=2, ensure_ascii=False) + "\n"
