"""classify agrees with a deliberately naive reference evaluator on random rule sets, facts and bases."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workrouter.contracts.common import SkillRequirement
from workrouter.domain.rules import Classification, classify, parse_ruleset

LEVELS = {"low": 250, "medium": 500, "high": 750, "urgent": 900}
# Few fields and tricky values (1 / 1.0 / True, "1" / 1, nested objects) so conditions and facts often meet.
FIELDS = ["title", "requested_agent", "attributes.a", "attributes.b", "attributes.c.d"]


def pick(values: list[Any]) -> st.SearchStrategy[Any]:
    """One of `values`, by index: sampled_from treats ==-equal values (1, 1.0, True) as one and rarely yields True."""
    return st.integers(0, len(values) - 1).map(values.__getitem__)


SCALARS = ["Gold", "gold", "1", 0, 1, 1.0, 2.5, True, False]
SCALAR = pick(SCALARS)
VALUES = st.one_of(
    SCALAR,
    st.lists(pick([1, 1.0, "a", True]), max_size=2),
    st.fixed_dictionaries({"d": pick([1, 1.0, "Gold", True])}),
)
PATTERNS = ["^F", "old$", "a", "(?i)gold", r"\d", "^$", "Cred|Fin|1"]
DURATIONS = st.one_of(st.integers(1, 10**6), st.sampled_from(["30m", "4h", "2d", "1d4h30m", "90s", "1h1s"]))


@st.composite
def bounds(draw: st.DrawFn) -> dict[str, float]:
    """A non-empty numeric range."""
    low, high = sorted(draw(st.lists(st.sampled_from([-3, 0, 1, 1.5, 2.5, 100]), min_size=2, max_size=2, unique=True)))
    shape = draw(st.sampled_from(["gt", "gte", "lt", "lte", "gt-lt", "gte-lt", "gt-lte", "gte-lte"]))
    lower, _, upper = shape.partition("-")
    if lower.startswith("l"):
        return {lower: high}
    return {lower: low, upper: high} if upper else {lower: low}


LEAVES = st.one_of(
    st.builds(lambda f, v: {"field": f, "equals": v}, st.sampled_from(FIELDS), VALUES),
    st.builds(lambda f, v: {"field": f, "in": v}, st.sampled_from(FIELDS), st.lists(VALUES, min_size=1, max_size=4)),
    st.builds(lambda f, p: {"field": f, "regex": p}, st.sampled_from(FIELDS), st.sampled_from(PATTERNS)),
    st.builds(lambda f, b: {"field": f, "exists": b}, st.sampled_from(FIELDS), st.booleans()),
    st.builds(lambda f, r: {"field": f, "range": r}, st.sampled_from(FIELDS), bounds()),
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=8,
)
SKILLS = st.dictionaries(st.sampled_from(["finance", "credit", "lang:fr"]), st.integers(0, 100), max_size=2).map(
    lambda d: [{"skill": k, "min_level": v} for k, v in d.items()]
)
SETS = st.fixed_dictionaries(
    {},
    optional={
        "queue": st.sampled_from(["finance", "credit", "general"]),
        "skills": SKILLS,
        "priority": st.one_of(st.sampled_from(list(LEVELS)), st.integers(0, 1000)),
        "sla": st.fixed_dictionaries({"duration": DURATIONS}, optional={"calendar": st.sampled_from(["24x7", "emea"])}),
        "due": DURATIONS,
        "expiry": DURATIONS,
        "business_value": st.one_of(st.integers(0, 1000), st.floats(0, 1e6)),
    },
)


@st.composite
def rule_files(draw: st.DrawFn) -> dict[str, Any]:
    """A valid rule file: a few conditional rules and a default."""
    count = draw(st.integers(0, 6))
    rules: list[dict[str, Any]] = [
        {"id": f"r{i}", "when": draw(CONDITIONS), "set": draw(SETS), "continue": draw(st.booleans())}
        for i in range(count)
    ]
    return {"rules": [*rules, {"id": "default", "default": True, "set": draw(SETS)}]}


FACTS = st.fixed_dictionaries(
    {
        "source": st.just("crm"),
        "type": st.sampled_from(["claim", "Gold", "1"]),
        "title": st.sampled_from(["Finance dispute", "gold", "", "Credit 42"]),
        "requested_agent": st.one_of(st.none(), st.just("a-1")),
        "attributes": st.fixed_dictionaries(
            {},
            optional={
                "a": st.one_of(SCALAR, VALUES, st.none()),
                "b": st.one_of(SCALAR, VALUES, st.none()),
                "c": st.one_of(st.fixed_dictionaries({"d": st.one_of(SCALAR, VALUES)}), VALUES),
            },
        ),
    }
)
BASES = st.one_of(
    st.none(),
    st.builds(
        Classification,
        queue=st.one_of(st.none(), st.just("claims")),
        skills=st.one_of(st.just(()), st.just((SkillRequirement(skill="claims", min_level=10),))),
        priority=st.one_of(st.none(), st.integers(0, 1000)),
        business_value=st.one_of(st.none(), st.just(3.0)),
        sla_seconds=st.one_of(st.none(), st.just(7200)),
        sla_calendar=st.just("24x7"),
        due_in_seconds=st.one_of(st.none(), st.just(60)),
        expires_in_seconds=st.one_of(st.none(), st.just(120)),
        matched=st.just(()),
        ruleset_version=st.just("base"),
    ),
)

# ---- the reference: a straightforward interpretation of the raw dicts, sharing no code with the evaluator ----


def ref_canonical(value: Any) -> Any:
    """A form in which Python equality is JSON equality."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, list):
        return ("list", tuple(ref_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, ref_canonical(v)) for k, v in value.items()))
    return ("other", value)


def ref_get(facts: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or None."""
    parts = path.split(".")
    node: Any = facts
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def ref_holds(condition: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Whether the raw condition holds."""
    if "all" in condition:
        return all(ref_holds(c, facts) for c in condition["all"])
    if "any" in condition:
        return any(ref_holds(c, facts) for c in condition["any"])
    if "not" in condition:
        return not ref_holds(condition["not"], facts)
    value = ref_get(facts, condition["field"])
    if "exists" in condition:
        return (value is not None) is condition["exists"]
    if value is None:
        return False
    if "equals" in condition:
        return bool(ref_canonical(value) == ref_canonical(condition["equals"]))
    if "in" in condition:
        return ref_canonical(value) in [ref_canonical(v) for v in condition["in"]]
    if "regex" in condition:
        return isinstance(value, str) and re.search(condition["regex"], value) is not None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    r = condition["range"]
    return (
        ("gt" not in r or value > r["gt"])
        and ("gte" not in r or value >= r["gte"])
        and ("lt" not in r or value < r["lt"])
        and ("lte" not in r or value <= r["lte"])
    )


def ref_seconds(duration: int | str) -> int:
    """Seconds of a duration."""
    if isinstance(duration, int):
        return duration
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", duration))


def ref_fields(key: str, value: Any) -> dict[str, Any]:
    """The Classification fields one `set` key writes."""
    if key == "skills":
        return {"skills": tuple(SkillRequirement(**s) for s in value)}
    if key == "priority":
        return {"priority": LEVELS[value] if isinstance(value, str) else value}
    if key == "sla":
        return {"sla_seconds": ref_seconds(value["duration"]), "sla_calendar": value.get("calendar", "24x7")}
    if key == "due":
        return {"due_in_seconds": ref_seconds(value)}
    if key == "expiry":
        return {"expires_in_seconds": ref_seconds(value)}
    if key == "business_value":
        return {"business_value": float(value)}
    return {key: value}


def reference(doc: dict[str, Any], facts: dict[str, Any], base: Classification | None) -> dict[str, Any]:
    """What classify must return, field by field (without the version)."""
    result: dict[str, Any] = {
        "queue": None,
        "skills": (),
        "priority": None,
        "business_value": None,
        "sla_seconds": None,
        "sla_calendar": "24x7",
        "due_in_seconds": None,
        "expires_in_seconds": None,
    }
    done: set[str] = set()
    if base is not None:
        result = {k: getattr(base, k) for k in result}
        names = {"queue": "queue", "skills": "skills", "priority": "priority", "business_value": "business_value"}
        names |= {"sla_seconds": "sla", "due_in_seconds": "due", "expires_in_seconds": "expiry"}
        done = {key for field, key in names.items() if getattr(base, field) not in (None, ())}
    matched: list[str] = []
    *rules, default = doc["rules"]
    for rule in rules:
        if ref_holds(rule["when"], facts):
            for key, value in rule["set"].items():
                result.update(ref_fields(key, value))
                done.add(key)
            matched.append(rule["id"])
            if not rule["continue"]:
                break
    unset = [key for key in default["set"] if key not in done]
    for key in unset:
        result.update(ref_fields(key, default["set"][key]))
    if unset:
        matched.append("default")
    return {**result, "matched": tuple(matched)}


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=rule_files(), tasks=st.lists(FACTS, min_size=1, max_size=5), base=BASES)
def test_classify_agrees_with_the_reference(doc: dict[str, Any], tasks: list[dict[str, Any]], base: Any) -> None:
    ruleset = parse_ruleset(doc, known_calendars=frozenset({"24x7", "emea"}))
    for facts in tasks:
        got = classify(ruleset, facts, base)
        expected = reference(doc, facts, base)
        assert {k: getattr(got, k) for k in expected} == expected
        assert got.ruleset_version == ruleset.version


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(condition=CONDITIONS, facts=FACTS)
def test_a_rule_matches_exactly_when_the_reference_says_so(condition: dict[str, Any], facts: dict[str, Any]) -> None:
    doc = {"rules": [{"id": "r", "when": condition, "set": {}}, {"id": "default", "default": True, "set": {}}]}
    assert classify(parse_ruleset(doc), facts).matched == (("r",) if ref_holds(condition, facts) else ())


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(leaf=LEAVES, value=st.one_of(SCALAR, VALUES))
def test_each_operator_agrees_with_the_reference_on_a_present_value(leaf: dict[str, Any], value: Any) -> None:
    condition = {**leaf, "field": "attributes.a"}
    doc = {"rules": [{"id": "r", "when": condition, "set": {}}, {"id": "default", "default": True, "set": {}}]}
    facts = {"type": "claim", "attributes": {"a": value}}
    assert classify(parse_ruleset(doc), facts).matched == (("r",) if ref_holds(condition, facts) else ())
