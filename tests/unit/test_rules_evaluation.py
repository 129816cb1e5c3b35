"""Evaluation order: overrides, `continue`, the default rule, the base, matched ids and the version."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from workrouter.contracts.common import SkillRequirement
from workrouter.domain.rules import Classification, RuleSet, classify, parse_ruleset

GOLD = {"field": "attributes.segment", "equals": "Gold"}
VIP = {"field": "attributes.vip", "equals": True}
FINANCE = {"field": "attributes.department", "equals": "Finance"}


def build(*rules: dict[str, Any], default: dict[str, Any] | None = None, **top: Any) -> RuleSet:
    """A rule set of `rules` followed by a default rule setting `default`."""
    last = {"id": "default", "default": True, "set": default or {}}
    return parse_ruleset({**top, "rules": [*rules, last]})


def task(**attributes: Any) -> dict[str, Any]:
    """Facts of a claim with these attributes."""
    return {"source": "crm", "type": "claim", "title": "t", "attributes": attributes}


def base(**fields: Any) -> Classification:
    """A work-type base classification."""
    values: dict[str, Any] = {
        "queue": None,
        "skills": (),
        "priority": None,
        "business_value": None,
        "sla_seconds": None,
        "sla_calendar": "24x7",
        "due_in_seconds": None,
        "expires_in_seconds": None,
        "matched": ("ignored",),
        "ruleset_version": "ignored",
    }
    return Classification(**{**values, **fields})


def test_every_field_a_rule_can_set() -> None:
    rules = build(
        {
            "id": "all-fields",
            "when": GOLD,
            "set": {
                "queue": "finance",
                "skills": [{"skill": "finance", "min_level": 50}, {"skill": "lang:fr"}],
                "priority": "high",
                "sla": {"duration": "1d4h30m"},
                "due": "2d",
                "expiry": 3600,
                "business_value": 100,
            },
        },
        version="v1",
    )
    assert classify(rules, task(segment="Gold")) == Classification(
        queue="finance",
        skills=(SkillRequirement(skill="finance", min_level=50), SkillRequirement(skill="lang:fr", min_level=0)),
        priority=750,
        business_value=100.0,
        sla_seconds=86_400 + 4 * 3600 + 30 * 60,
        sla_calendar="24x7",
        due_in_seconds=2 * 86_400,
        expires_in_seconds=3600,
        matched=("all-fields",),
        ruleset_version="v1",
    )


def test_first_match_without_continue_stops_evaluation() -> None:
    rules = build(
        {"id": "gold", "when": GOLD, "set": {"queue": "gold"}},
        {"id": "finance", "when": FINANCE, "set": {"queue": "finance", "priority": 900}},
    )
    result = classify(rules, task(segment="Gold", department="Finance"))
    assert (result.queue, result.priority, result.matched) == ("gold", None, ("gold",))


def test_continue_lets_later_rules_override_only_what_they_set() -> None:
    rules = build(
        {"id": "vip", "when": VIP, "set": {"business_value": 500, "priority": 100}, "continue": True},
        {"id": "gold", "when": GOLD, "set": {"priority": "high", "queue": "gold"}, "continue": True},
        {"id": "finance", "when": FINANCE, "set": {"queue": "finance"}},
        {"id": "never", "when": GOLD, "set": {"queue": "never"}},
    )
    result = classify(rules, task(vip=True, segment="Gold", department="Finance"))
    assert (result.queue, result.priority, result.business_value) == ("finance", 750, 500.0)
    assert result.matched == ("vip", "gold", "finance")


def test_continue_chain_that_runs_off_the_end_reaches_the_default() -> None:
    rules = build(
        {"id": "vip", "when": VIP, "set": {"business_value": 500}, "continue": True},
        default={"queue": "general", "priority": "low", "business_value": 1},
    )
    result = classify(rules, task(vip=True))
    assert (result.queue, result.priority, result.business_value) == ("general", 250, 500.0)
    assert result.matched == ("vip", "default")


def test_default_fills_only_unset_fields_even_after_a_stop() -> None:
    rules = build(
        {"id": "gold", "when": GOLD, "set": {"queue": "gold", "sla": {"duration": "4h"}}},
        default={"queue": "general", "priority": "low", "sla": {"duration": "3d"}, "due": "5d"},
    )
    result = classify(rules, task(segment="Gold"))
    assert (result.queue, result.priority, result.sla_seconds, result.due_in_seconds) == (
        "gold",
        250,
        4 * 3600,
        5 * 86_400,
    )
    assert result.matched == ("gold", "default")


def test_default_is_not_listed_when_it_fills_nothing() -> None:
    rules = build({"id": "gold", "when": GOLD, "set": {"queue": "gold"}}, default={"queue": "general"})
    assert classify(rules, task(segment="Gold")).matched == ("gold",)
    assert classify(rules, task(segment="Bronze")).matched == ("default",)


def test_an_explicitly_empty_skill_list_is_set_and_not_filled_by_the_default() -> None:
    rules = build({"id": "gold", "when": GOLD, "set": {"skills": []}}, default={"skills": [{"skill": "general"}]})
    assert classify(rules, task(segment="Gold")).skills == ()
    assert classify(rules, task()).skills == (SkillRequirement(skill="general"),)


def test_no_base_starts_unset() -> None:
    result = classify(build(), task())
    assert result == Classification(
        queue=None,
        skills=(),
        priority=None,
        business_value=None,
        sla_seconds=None,
        sla_calendar="24x7",
        due_in_seconds=None,
        expires_in_seconds=None,
        matched=(),
        ruleset_version=result.ruleset_version,
    )


def test_rules_override_the_base_and_the_default_does_not() -> None:
    rules = build(
        {"id": "gold", "when": GOLD, "set": {"priority": "high"}},
        default={"queue": "general", "priority": "low", "due": "1d", "skills": [{"skill": "general"}]},
    )
    start = base(queue="claims", priority=500, due_in_seconds=7200, skills=(SkillRequirement(skill="claims"),))
    gold = classify(rules, task(segment="Gold"), start)
    assert (gold.queue, gold.priority, gold.due_in_seconds, gold.skills) == ("claims", 750, 7200, start.skills)
    other = classify(rules, task(segment="Bronze"), start)
    assert (other.queue, other.priority, other.due_in_seconds) == ("claims", 500, 7200)
    assert other.matched == ()


def test_default_fills_what_the_base_leaves_unset() -> None:
    rules = build(default={"queue": "general", "priority": "low", "sla": {"duration": "3d"}})
    result = classify(rules, task(), base(queue="claims"))
    assert (result.queue, result.priority, result.sla_seconds) == ("claims", 250, 3 * 86_400)
    assert result.matched == ("default",)


def test_base_matched_and_version_are_not_carried_over() -> None:
    rules = build(version="2026-11-23.1")
    result = classify(rules, task(), base())
    assert (result.matched, result.ruleset_version) == ((), "2026-11-23.1")


def test_custom_priority_levels_replace_the_defaults() -> None:
    rules = build(
        {"id": "gold", "when": GOLD, "set": {"priority": "p1"}},
        default={"priority": "p3"},
        priority_levels={"p1": 1000, "p3": 100},
    )
    assert classify(rules, task(segment="Gold")).priority == 1000
    assert classify(rules, task()).priority == 100
    assert dict(rules.priority_levels) == {"p1": 1000, "p3": 100}


def test_sla_calendar_comes_with_the_sla() -> None:
    doc = {
        "rules": [
            {"id": "gold", "when": GOLD, "set": {"sla": {"duration": "4h", "calendar": "business"}}},
            {"id": "default", "default": True, "set": {"sla": {"duration": "3d"}}},
        ]
    }
    rules = parse_ruleset(doc, known_calendars=frozenset({"24x7", "business"}))
    assert (classify(rules, task(segment="Gold")).sla_calendar, classify(rules, task()).sla_calendar) == (
        "business",
        "24x7",
    )


def test_version_defaults_to_a_hash_of_the_source_text() -> None:
    doc = {"rules": [{"id": "default", "default": True, "set": {}}]}
    from_text = parse_ruleset(doc, source_text="rules: [...]\n")
    assert from_text.version.startswith("sha256:")
    assert len(from_text.version) == len("sha256:") + 12
    assert from_text.version != parse_ruleset(doc, source_text="rules: [...] \n").version
    without_text = parse_ruleset(doc)
    assert without_text.version == parse_ruleset(dict(doc)).version
    assert without_text.version.startswith("sha256:")


def test_a_ruleset_is_immutable() -> None:
    rules = build({"id": "gold", "when": GOLD, "set": {"queue": "gold"}})
    assert [r.id for r in rules.rules] == ["gold", "default"]
    assert rules.default.id == "default"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.rules[0].id = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.version = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        rules.priority_levels["low"] = 1  # type: ignore[index]
    assert classify(rules, task(segment="Gold")).queue == "gold"
