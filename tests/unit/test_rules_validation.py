"""A bad rule file is refused whole, with a message naming the rule and the field path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from workrouter.config.rules_file import load_ruleset, read_rule_file
from workrouter.domain.rules import RuleSetError, parse_duration, parse_ruleset


def valid() -> dict[str, Any]:
    """A small valid rule file."""
    return {
        "rules": [
            {
                "id": "finance-gold",
                "when": {
                    "all": [
                        {"field": "attributes.department", "equals": "Finance"},
                        {"field": "attributes.segment", "equals": "Gold"},
                    ]
                },
                "set": {
                    "queue": "finance",
                    "skills": [{"skill": "finance", "min_level": 50}],
                    "priority": "high",
                    "sla": {"duration": "4h"},
                },
            },
            {"id": "vip", "when": {"field": "attributes.vip", "equals": True}, "set": {"business_value": 5}},
            {"id": "default", "default": True, "set": {"queue": "general", "priority": "low"}},
        ]
    }


def refused(doc: Any, **kwargs: Any) -> str:
    """The message parse_ruleset refuses `doc` with."""
    with pytest.raises(RuleSetError) as caught:
        parse_ruleset(doc, **kwargs)
    return str(caught.value)


def with_change(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """valid() with the item at `path` replaced by `value`."""
    doc = copy.deepcopy(valid())
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


def test_the_valid_file_is_valid() -> None:
    assert [r.id for r in parse_ruleset(valid()).rules] == ["finance-gold", "vip", "default"]


FIRST = ("rules", 0)
COND = (*FIRST, "when", "all", 1)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            (*FIRST, "set", "priority"),
            "hihg",
            "rule 'finance-gold' (#1): set.priority: unknown level 'hihg' (known: low, medium, high, urgent)",
        ),
        ((*FIRST, "set", "priority"), 1001, "rule 'finance-gold' (#1): set.priority: priority 1001 is outside 0..1000"),
        ((*FIRST, "set", "priority"), -1, "rule 'finance-gold' (#1): set.priority: priority -1 is outside 0..1000"),
        ((*FIRST, "set", "priority"), 7.5, "rule 'finance-gold' (#1): set.priority: priority is a level name or"),
        (
            (*FIRST, "set", "skills", 0, "min_level"),
            101,
            "rule 'finance-gold' (#1): set.skills[0].min_level: Input should be less than or equal to 100 (got 101)",
        ),
        (
            (*FIRST, "set", "skills", 0, "min_level"),
            -1,
            "rule 'finance-gold' (#1): set.skills[0].min_level: Input should be greater than or equal to 0",
        ),
        (
            (*FIRST, "set", "skills"),
            [{"skill": "finance"}, {"skill": "finance", "min_level": 9}],
            "rule 'finance-gold' (#1): set.skills: skill 'finance' is listed more than once",
        ),
        ((*FIRST, "set", "sla", "duration"), "4 hours", "rule 'finance-gold' (#1): set.sla.duration: bad duration"),
        ((*FIRST, "set", "sla", "duration"), 0, "rule 'finance-gold' (#1): set.sla.duration: a duration must be"),
        ((*FIRST, "set", "sla", "duration"), "0m", "rule 'finance-gold' (#1): set.sla.duration: a duration must be"),
        ((*FIRST, "set", "due"), "2x", "rule 'finance-gold' (#1): set.due: bad duration '2x'"),
        ((*FIRST, "set", "expiry"), True, "rule 'finance-gold' (#1): set.expiry: a duration is text"),
        (
            (*FIRST, "set", "sla", "calendar"),
            "business",
            "rule 'finance-gold' (#1): set.sla.calendar: unknown calendar 'business' (known: 24x7)",
        ),
        (
            (*FIRST, "set", "business_value"),
            -5,
            "rule 'finance-gold' (#1): set.business_value: Input should be greater",
        ),
        ((*FIRST, "set", "queue"), "", "rule 'finance-gold' (#1): set.queue: String should have at least 1 character"),
        ((*FIRST, "set", "queue"), None, "rule 'finance-gold' (#1): set: queue: null is not allowed"),
        (
            (*FIRST, "set", "prority"),
            "high",
            "rule 'finance-gold' (#1): set: unknown key 'prority' (did you mean 'priority'?",
        ),
        ((*FIRST, "whenn"), {}, "rule 'finance-gold' (#1): unknown key 'whenn' (did you mean 'when'?"),
        ((*COND, "equls"), "x", "rule 'finance-gold' (#1): when.all[1]: unknown key 'equls' (did you mean 'equals'?"),
        (
            (*COND, "regex"),
            "Gold",
            "rule 'finance-gold' (#1): when.all[1]: give exactly one operator of equals, in, regex, exists, range "
            "(got equals, regex;",
        ),
        (
            (*COND,),
            {"field": "title", "regex": "(unclosed"},
            "rule 'finance-gold' (#1): when.all[1].regex: bad regular expression '(unclosed'",
        ),
        (
            (*COND,),
            {"field": "title", "regex": "a" * 501},
            "rule 'finance-gold' (#1): when.all[1].regex: String should have at most 500 characters",
        ),
        ((*COND,), {"field": "title"}, "rule 'finance-gold' (#1): when.all[1]: give exactly one operator"),
        (
            (*COND,),
            {"field": "atributes.segment", "exists": True},
            "rule 'finance-gold' (#1): when.all[1].field: unknown field 'atributes.segment'",
        ),
        ((*COND,), {"field": "queue", "exists": True}, "rule 'finance-gold' (#1): when.all[1].field: unknown field"),
        ((*COND,), {"field": "title", "in": []}, "rule 'finance-gold' (#1): when.all[1].in: List should have at least"),
        (
            (*COND,),
            {"field": "title", "in": "Gold"},
            "rule 'finance-gold' (#1): when.all[1].in: Input should be a valid",
        ),
        ((*COND,), {"field": "title", "exists": "yes"}, "rule 'finance-gold' (#1): when.all[1].exists: Input should"),
        ((*COND,), {"field": "title", "equals": None}, "use `exists: false`"),
        ((*COND,), {"field": "x", "range": {}}, "rule 'finance-gold' (#1): when.all[1].field: unknown field 'x'"),
        ((*COND,), {"field": "title", "range": {}}, "when.all[1].range: give at least one of gt, gte, lt, lte"),
        ((*COND,), {"field": "title", "range": {"gt": 1, "gte": 2}}, "when.all[1].range: give gt or gte, not both"),
        ((*COND,), {"field": "title", "range": {"gte": 5, "lt": 5}}, "when.all[1].range: no number satisfies"),
        ((*COND,), {"field": "title", "range": {"gte": True}}, "when.all[1].range.gte: Input should be a valid number"),
        ((*COND,), {"field": "title", "range": {"gte": 1, "lten": 2}}, "when.all[1].range: unknown key 'lten'"),
        ((*COND,), "Gold", "rule 'finance-gold' (#1): when.all[1]: a condition is a mapping"),
        ((*FIRST, "when", "all"), [], "rule 'finance-gold' (#1): when.all: List should have at least 1 item"),
        ((*FIRST, "when"), {"not": {"any": [{"field": "title"}]}}, "when.not.any[0]: give exactly one operator"),
        ((*FIRST, "id"), "finance gold", "rule 'finance gold' (#1): id: String should match pattern"),
        ((*FIRST, "continue"), "yes", "rule 'finance-gold' (#1): continue: Input should be a valid boolean"),
        (("rules", 1, "id"), "finance-gold", "rule 'finance-gold' (#2): id: duplicate of rule #1"),
        (("rules", 1, "when"), None, "rule 'vip' (#2): when: null is not allowed"),
        (
            ("rules", 2, "when"),
            {"field": "title", "exists": True},
            "rule 'default' (#3): when: the default rule has no",
        ),
        (("rules", 2, "continue"), True, "rule 'default' (#3): continue: not allowed on the default rule"),
        (("rules", 2, "default"), False, "rules: no default rule"),
        (("rules", 1, "default"), True, "rule 'vip' (#2): default: the default rule must be the last rule"),
        (("rules", 2, "set", "priority"), "lowest", "rule 'default' (#3): set.priority: unknown level 'lowest'"),
        (("priority_levels",), {"low": 1001}, "priority_levels.low: Input should be less than or equal to 1000"),
        (("rulez",), [], "unknown key 'rulez' (did you mean 'rules'?"),
        (("version",), "", "version: String should have at least 1 character"),
        (("rules",), [], "rules: List should have at least 1 item"),
    ],
)
def test_refused_with_rule_and_field(path: tuple[str | int, ...], value: Any, expected: str) -> None:
    assert expected in refused(with_change(path, value))


def test_a_rule_without_when_is_refused() -> None:
    doc = valid()
    del doc["rules"][1]["when"]
    assert "rule 'vip' (#2): when: required key is missing" in refused(doc)


def test_missing_rules_and_missing_set_name_the_key() -> None:
    assert refused({}) == "rules: required key is missing"
    doc = valid()
    del doc["rules"][0]["set"]
    assert refused(doc) == "rule 'finance-gold' (#1): set: required key is missing"


def test_a_rule_without_an_id_is_named_by_its_position() -> None:
    doc = valid()
    del doc["rules"][1]["id"]
    assert refused(doc) == "rule #2: id: required key is missing"


def test_two_default_rules_are_refused() -> None:
    doc = valid()
    doc["rules"].insert(2, {"id": "other-default", "default": True, "set": {}})
    message = refused(doc)
    assert "rule 'other-default' (#3): default: the default rule must be the last rule" in message
    assert "rule 'default' (#4): default: only one default rule is allowed (#3 is one)" in message


def test_every_problem_is_reported_one_per_line_in_rule_order() -> None:
    doc = valid()
    doc["rules"][0]["set"]["priority"] = "hihg"
    doc["rules"][1]["set"]["due"] = "soon"
    doc["rules"][2]["set"]["skills"] = [{"skill": "x", "min_level": 500}]
    with pytest.raises(RuleSetError) as caught:
        parse_ruleset(doc)
    problems = caught.value.problems
    assert len(problems) == 2, "structure errors first: level names are resolved once the structure is valid"
    assert problems[0].startswith("rule 'vip' (#2): set.due:")
    assert problems[1].startswith("rule 'default' (#3): set.skills[0].min_level:")
    doc["rules"][1]["set"]["due"] = "1d"
    doc["rules"][2]["set"]["skills"] = []
    doc["rules"][2]["set"]["priority"] = "lowest"
    assert refused(doc).splitlines() == [
        "rule 'finance-gold' (#1): set.priority: unknown level 'hihg' (known: low, medium, high, urgent)",
        "rule 'default' (#3): set.priority: unknown level 'lowest' (known: low, medium, high, urgent)",
    ]


def test_not_a_mapping_is_refused() -> None:
    assert "a rule file is a mapping" in refused(["rules"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("4h", 14_400), ("2d", 172_800), ("1d4h30m", 102_600), ("90s", 90), ("1h1s", 3601), (45, 45)],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "4", "4 h", "h", "1m1h", "1.5h", "-1h", 0, -3, 1.5, True, None, "4H"])
def test_bad_durations(text: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: a\n    set: {queue: x\n  - id: b\n")
    with pytest.raises(
        RuleSetError, match=r"rules\.yaml: YAML error at line 4, column 7: .*\(from line 3, column 10\)"
    ):
        load_ruleset(path)


def test_yaml_duplicate_keys_are_refused_with_both_lines() -> None:
    text = "rules:\n  - id: a\n    set:\n      priority: high\n      priority: low\n"
    with pytest.raises(RuleSetError, match=r"line 5, column 7: duplicate key 'priority' \(first given on line 4\)"):
        read_rule_file(text)


def test_yaml_only_true_and_false_are_booleans_and_dates_stay_text() -> None:
    doc = read_rule_file("a: no\nb: off\nc: yes\nd: true\ne: False\nf: 2026-11-23\n")
    assert doc == {"a": "no", "b": "off", "c": "yes", "d": True, "e": False, "f": "2026-11-23"}


def test_load_prefixes_problems_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {id: d, default: true, set: {priority: hihg}}\n")
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(path)
    assert (
        str(caught.value)
        == f"{path}: rule 'd' (#1): set.priority: unknown level 'hihg' (known: low, medium, high, urgent)"
    )


def test_load_refuses_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(RuleSetError, match="the file is empty"):
        load_ruleset(empty)
    with pytest.raises(RuleSetError, match="cannot read the rule file"):
        load_ruleset(tmp_path / "absent.yaml")


def test_load_accepts_known_calendars(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {id: d, default: true, set: {sla: {duration: 4h, calendar: emea}}}\n")
    with pytest.raises(RuleSetError, match="unknown calendar 'emea' \\(known: 24x7\\)"):
        load_ruleset(path)
    assert load_ruleset(path, known_calendars=frozenset({"24x7", "emea"})).default.updates["sla_calendar"] == "emea"
