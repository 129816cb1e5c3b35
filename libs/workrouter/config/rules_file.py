"""Read a prioritiser rule file from YAML; the domain gets the parsed mapping.

Checked with the other files by `workrouter config check DIR`; its JSON Schema is written by
`workrouter config schemas docs`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from workrouter.domain.calendar import BusinessCalendar
from workrouter.domain.rules import RuleSet, RuleSetError, parse_ruleset, rule_file_schema

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class RuleFileLoader(_SafeLoader):
    """Safe YAML for hand-written rules: duplicate keys are errors; only true/false are booleans; dates stay text.

    YAML 1.1 reads `no`, `off` and `y` as booleans, which turns the language code `no` into false.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping, refusing a key given twice (YAML would silently keep the last)."""
        self.flatten_mapping(node)
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in first_line:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given on line {first_line[key]})",
                        key_node.start_mark,
                    )
                first_line[key] = key_node.start_mark.line + 1
            except TypeError:
                continue  # an unhashable key: the base class reports it
        return super().construct_mapping(node, deep=deep)


RuleFileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
RuleFileLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_rule_file(text: str, name: str = "<rules>") -> Any:
    """The YAML document in `text`; raises RuleSetError with the line and column of a syntax error."""
    try:
        return yaml.load(text, Loader=RuleFileLoader)  # a SafeLoader: builds plain data only
    except yaml.MarkedYAMLError as exc:
        mark, start = exc.problem_mark or exc.context_mark, exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        context = exc.context
        if context and start and mark and start.line != mark.line:
            context += f" (from line {start.line + 1}, column {start.column + 1})"
        what = " ".join(part for part in (context, exc.problem) if part)
        raise RuleSetError(f"{name}: YAML error at {where}: {what}") from None
    except yaml.YAMLError as exc:
        raise RuleSetError(f"{name}: YAML error: {exc}") from None


def load_ruleset(
    path: Path, *, known_calendars: Mapping[str, BusinessCalendar] | frozenset[str] = frozenset({"24x7"})
) -> RuleSet:
    """Read, validate and compile the rule file at `path`; raises RuleSetError naming the file and each problem.

    `known_calendars`: the calendars SLAs may name (by name, or the calendars, whose business days count a `d`).
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleSetError(f"{path}: cannot read the rule file: {exc}") from None
    doc = read_rule_file(text, str(path))
    if doc is None:
        raise RuleSetError(f"{path}: the file is empty; a rule file is a mapping with a `rules` list")
    try:
        return parse_ruleset(doc, source_text=text, known_calendars=known_calendars)
    except RuleSetError as exc:
        raise RuleSetError([f"{path}: {problem}" for problem in exc.problems]) from None


def schema_json() -> str:
    """The rule file's JSON Schema as checked in at docs/rules.schema.json."""
    return json.dumps(rule_file_schema(), indent=2, ensure_ascii=False) + "\n"
