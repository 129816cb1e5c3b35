"""Every condition operator, nesting, missing fields and JSON equality, by example."""

from __future__ import annotations

from typing import Any

import pytest

from workrouter.domain.rules import RuleSet, classify, parse_ruleset


def single_rule(when: dict[str, Any]) -> RuleSet:
    """A rule set whose one rule sets queue 'hit' when `when` holds."""
    return parse_ruleset(
        {
            "rules": [
                {"id": "r", "when": when, "set": {"queue": "hit"}},
                {"id": "default", "default": True, "set": {}},
            ]
        }
    )


def facts(**attributes: Any) -> dict[str, Any]:
    """Task facts with the given attributes."""
    return {
        "source": "crm",
        "type": "claim",
        "channel": "workitem",
        "title": "Customer disputes invoice 2026-11",
        "priority": None,
        "requested_agent": None,
        "attributes": attributes,
    }


def matches(when: dict[str, Any], task: dict[str, Any]) -> bool:
    """Whether the condition holds for the task."""
    return classify(single_rule(when), task).queue == "hit"


@pytest.mark.parametrize(
    ("when", "task", "expected"),
    [
        # equals
        ({"field": "attributes.department", "equals": "Finance"}, facts(department="Finance"), True),
        ({"field": "attributes.department", "equals": "Finance"}, facts(department="finance"), False),
        ({"field": "attributes.department", "equals": "Finance"}, facts(), False),
        ({"field": "source", "equals": "crm"}, facts(), True),
        ({"field": "type", "equals": "invoice_dispute"}, facts(), False),
        ({"field": "attributes.amount", "equals": 1}, facts(amount=1.0), True),
        ({"field": "attributes.amount", "equals": 1.0}, facts(amount=1), True),
        ({"field": "attributes.amount", "equals": 1}, facts(amount=True), False),
        ({"field": "attributes.vip", "equals": True}, facts(vip=1), False),
        ({"field": "attributes.vip", "equals": True}, facts(vip=True), True),
        ({"field": "attributes.vip", "equals": False}, facts(vip=0), False),
        ({"field": "attributes.vip", "equals": False}, facts(vip=False), True),
        ({"field": "attributes.code", "equals": "1"}, facts(code=1), False),
        ({"field": "attributes.code", "equals": 1}, facts(code="1"), False),
        ({"field": "attributes.tags", "equals": [1, "a"]}, facts(tags=[1.0, "a"]), True),
        ({"field": "attributes.tags", "equals": [1, "a"]}, facts(tags=[True, "a"]), False),
        ({"field": "attributes.tags", "equals": [1, "a"]}, facts(tags=[1, "a", "b"]), False),
        ({"field": "attributes.customer", "equals": {"tier": 1}}, facts(customer={"tier": 1.0}), True),
        ({"field": "attributes.customer", "equals": {"tier": 1}}, facts(customer={"tier": 1, "x": 2}), False),
        # in
        ({"field": "attributes.segment", "in": ["Gold", "Silver"]}, facts(segment="Silver"), True),
        ({"field": "attributes.segment", "in": ["Gold", "Silver"]}, facts(segment="Bronze"), False),
        ({"field": "attributes.segment", "in": ["Gold", "Silver"]}, facts(), False),
        ({"field": "attributes.level", "in": [1, 2]}, facts(level=2.0), True),
        ({"field": "attributes.level", "in": [1, 2]}, facts(level=True), False),
        ({"field": "attributes.level", "in": [True]}, facts(level=1), False),
        ({"field": "attributes.level", "in": [True, "x"]}, facts(level=True), True),
        ({"field": "attributes.level", "in": [[1, 2], "x"]}, facts(level=[1, 2]), True),
        ({"field": "attributes.level", "in": [[1, 2], "x"]}, facts(level=[2, 1]), False),
        # regex (re.search, strings only)
        ({"field": "title", "regex": "invoice \\d{4}"}, facts(), True),
        ({"field": "title", "regex": "^invoice"}, facts(), False),
        ({"field": "title", "regex": "(?i)^customer"}, facts(), True),
        ({"field": "attributes.code", "regex": "1"}, facts(code=123), False),
        ({"field": "attributes.code", "regex": "1"}, facts(code="123"), True),
        ({"field": "attributes.code", "regex": "."}, facts(), False),
        # exists (null counts as absent)
        ({"field": "attributes.vip", "exists": True}, facts(vip=False), True),
        ({"field": "attributes.vip", "exists": True}, facts(), False),
        ({"field": "attributes.vip", "exists": True}, facts(vip=None), False),
        ({"field": "attributes.vip", "exists": False}, facts(), True),
        ({"field": "attributes.vip", "exists": False}, facts(vip=None), True),
        ({"field": "requested_agent", "exists": False}, facts(), True),
        ({"field": "requested_agent", "exists": True}, {**facts(), "requested_agent": "a-1"}, True),
        # range (int/float, not bool)
        ({"field": "attributes.amount", "range": {"gte": 100, "lt": 1000}}, facts(amount=100), True),
        ({"field": "attributes.amount", "range": {"gte": 100, "lt": 1000}}, facts(amount=999.99), True),
        ({"field": "attributes.amount", "range": {"gte": 100, "lt": 1000}}, facts(amount=1000), False),
        ({"field": "attributes.amount", "range": {"gte": 100, "lt": 1000}}, facts(amount=99), False),
        ({"field": "attributes.amount", "range": {"gt": 100, "lte": 1000}}, facts(amount=100), False),
        ({"field": "attributes.amount", "range": {"gt": 100, "lte": 1000}}, facts(amount=1000), True),
        ({"field": "attributes.amount", "range": {"gte": 0}}, facts(amount=True), False),
        ({"field": "attributes.amount", "range": {"gte": 0}}, facts(amount="5"), False),
        ({"field": "attributes.amount", "range": {"gte": 0}}, facts(), False),
        ({"field": "attributes.amount", "range": {"lt": 0}}, facts(amount=-0.5), True),
        ({"field": "attributes.amount", "range": {"gte": 5, "lte": 5}}, facts(amount=5), True),
        # nested attribute paths
        ({"field": "attributes.customer.tier", "equals": "gold"}, facts(customer={"tier": "gold"}), True),
        ({"field": "attributes.customer.tier", "equals": "gold"}, facts(customer="gold"), False),
        ({"field": "attributes.customer.tier", "exists": False}, facts(customer=["tier"]), True),
        ({"field": "attributes.a.b.c", "range": {"gt": 1}}, facts(a={"b": {"c": 2}}), True),
        ({"field": "attributes.a.b.c", "range": {"gt": 1}}, facts(a={"b": None}), False),
    ],
)
def test_operator(when: dict[str, Any], task: dict[str, Any], expected: bool) -> None:
    assert matches(when, task) is expected


GOLD = {"field": "attributes.segment", "equals": "Gold"}
FINANCE = {"field": "attributes.department", "equals": "Finance"}


@pytest.mark.parametrize(
    ("when", "task", "expected"),
    [
        ({"all": [GOLD, FINANCE]}, facts(segment="Gold", department="Finance"), True),
        ({"all": [GOLD, FINANCE]}, facts(segment="Gold", department="Credit"), False),
        (
            {"all": [GOLD, FINANCE, {"field": "type", "equals": "claim"}]},
            facts(segment="Gold", department="Finance"),
            True,
        ),
        (
            {"all": [GOLD, FINANCE, {"field": "type", "equals": "lead"}]},
            facts(segment="Gold", department="Finance"),
            False,
        ),
        ({"any": [GOLD, FINANCE]}, facts(segment="Silver", department="Finance"), True),
        ({"any": [GOLD, FINANCE]}, facts(segment="Silver", department="Credit"), False),
        ({"any": [GOLD, FINANCE, {"field": "type", "equals": "claim"}]}, facts(), True),
        ({"any": [GOLD]}, facts(segment="Gold"), True),
        ({"not": GOLD}, facts(segment="Silver"), True),
        ({"not": GOLD}, facts(), True),
        ({"not": GOLD}, facts(segment="Gold"), False),
        ({"not": {"not": GOLD}}, facts(segment="Gold"), True),
        ({"all": [{"any": [GOLD, FINANCE]}, {"not": {"field": "attributes.vip", "exists": True}}]}, facts(), False),
        (
            {"all": [{"any": [GOLD, FINANCE]}, {"not": {"field": "attributes.vip", "exists": True}}]},
            facts(segment="Gold"),
            True,
        ),
        (
            {"all": [{"any": [GOLD, FINANCE]}, {"not": {"field": "attributes.vip", "exists": True}}]},
            facts(segment="Gold", vip=True),
            False,
        ),
    ],
)
def test_nesting(when: dict[str, Any], task: dict[str, Any], expected: bool) -> None:
    assert matches(when, task) is expected


def test_attributes_missing_or_not_a_mapping_read_as_absent() -> None:
    when = {"field": "attributes.department", "exists": False}
    assert matches(when, {"type": "claim"})
    assert matches(when, {"type": "claim", "attributes": None})
    assert matches(when, {"type": "claim", "attributes": "Finance"})
    assert not matches({"field": "attributes.department", "equals": "Finance"}, {"attributes": ["department"]})


def test_task_field_absent_from_facts_reads_as_absent() -> None:
    assert matches({"field": "channel", "exists": False}, {"attributes": {}})
    assert not matches({"field": "channel", "equals": "workitem"}, {"attributes": {}})
