"""Prioritiser rules: a validated, pre-compiled rule set and the pure `classify` over a task's facts."""

from __future__ import annotations

from workrouter.domain.durations import parse_duration
from workrouter.domain.rules.errors import RuleSetError
from workrouter.domain.rules.evaluate import Classification, classify
from workrouter.domain.rules.model import rule_file_schema
from workrouter.domain.rules.ruleset import CompiledRule, RuleSet, parse_ruleset

__all__ = [
    "Classification",
    "CompiledRule",
    "RuleSet",
    "RuleSetError",
    "classify",
    "parse_duration",
    "parse_ruleset",
    "rule_file_schema",
]
