"""`workrouter config check DIR` and `workrouter config schemas DIR`: every configuration file at once.

One command checks what every service reads at start, with the cross-checks the services make: the
catalog (sources.yaml, worktypes.yaml, queues.yaml, calendars.yaml), the routing files (queues.yaml,
agents.yaml, codes.yaml), the rule file (DIR/rules.yaml, or --rules FILE, against the calendars) and
escalation.yaml (against the queues, work types, agents and calendars it names). Every part is checked
even when another fails, so one run lists every problem; the exit status is 1 if any part failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from workrouter.config import calendars, escalation, routing, rules_file
from workrouter.config.catalog import Catalog, load_catalog
from workrouter.config.escalation import Known, load_escalation
from workrouter.config.files import ConfigError
from workrouter.config.routing import RoutingConfig, load_routing_config, summary
from workrouter.config.rules_file import load_ruleset
from workrouter.domain.rules.errors import RuleSetError


def check(config_dir: Path, rules: Path | None = None) -> tuple[list[str], list[str]]:
    """(what is fine, one line each; what is wrong, one message each) for the configuration in `config_dir`."""
    fine: list[str] = []
    wrong: list[str] = []

    def part(name: str, load: Callable[[], str]) -> None:
        try:
            fine.append(f"{name}: {load()}")
        except (ConfigError, RuleSetError) as exc:
            wrong.append(f"{name}: {exc}")

    loaded: dict[str, Catalog | RoutingConfig] = {}

    def catalog() -> str:
        found = loaded["catalog"] = load_catalog(config_dir)
        days = ", ".join(f"{c.name} ({c.tz.key})" for c in found.calendars.values()) or "none"
        return f"{len(found.sources)} sources, {len(found.worktypes)} work types, calendars: {days}"

    def routing_files() -> str:
        found = loaded["routing"] = load_routing_config(config_dir)
        return summary(found)

    part("sources, work types, queues, calendars", catalog)
    part("queues, agents, codes", routing_files)
    cat = loaded.get("catalog")
    known_calendars = cat.calendars if isinstance(cat, Catalog) else frozenset({"24x7"})
    path = rules or config_dir / "rules.yaml"
    part(f"rules ({path})", lambda: f"version {load_ruleset(path, known_calendars=known_calendars).version}")
    route = loaded.get("routing")
    if isinstance(cat, Catalog) and isinstance(route, RoutingConfig):
        known = Known(
            queues=frozenset(cat.queues),
            worktypes=frozenset(cat.worktypes),
            agents=frozenset(route.agents),
            calendars=frozenset(cat.calendars),
        )
        part("escalation", lambda: _escalation(config_dir / "escalation.yaml", known))
    else:
        wrong.append("escalation: not checked (it names queues, work types and agents: fix the files above first)")
    return fine, wrong


def _escalation(path: Path, known: Known) -> str:
    loaded = load_escalation(path, known)
    if not path.exists():
        return "no escalation.yaml: nothing escalates"
    return f"{len(loaded.policies)} SLA policies, {len(loaded.olas)} OLAs, {len(loaded.reprioritise)} reprioritisations"


def schemas() -> dict[str, str]:
    """Every configuration file's JSON Schema, by file name (checked in under docs/)."""
    return {
        **routing.schemas(),
        "calendars.schema.json": calendars.schema_json(),
        "rules.schema.json": rules_file.schema_json(),
        "escalation.schema.json": escalation.schema_json(),
    }


def _check(args: argparse.Namespace) -> int:
    fine, wrong = check(args.dir, args.rules)
    for line in fine:
        print(f"ok    {line}")
    for message in wrong:
        print(f"error {message}", file=sys.stderr)
    if wrong:
        print(f"{args.dir}: {len(wrong)} part(s) with problems: fix them and run this again", file=sys.stderr)
        return 1
    return 0


def _schemas(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(schemas().items()):
        (args.dir / name).write_text(text, encoding="utf-8")
        print(args.dir / name)
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `config check` and `config schemas` to the workrouter command."""
    config = commands.add_parser("config", help="check a configuration folder, or write the files' JSON Schemas")
    actions = config.add_subparsers(dest="action", required=True)
    checker = actions.add_parser("check", help="validate every file of DIR together, as the services will")
    checker.add_argument("dir", type=Path, metavar="DIR", help="the configuration folder (e.g. deploy/config)")
    checker.add_argument("--rules", type=Path, metavar="FILE", help="the rule file, if not DIR/rules.yaml")
    checker.set_defaults(run=_check)
    writer = actions.add_parser("schemas", help="write every *.schema.json into DIR (docs/ holds them)")
    writer.add_argument("dir", type=Path, metavar="DIR")
    writer.set_defaults(run=_schemas)
