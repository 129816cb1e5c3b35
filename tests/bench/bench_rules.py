"""Benchmark: cost of classify per task for rule sets of 10 and 1,000 rules, and load time of a 1,000-rule file.

The rules mix all/any/not with equals/in/regex/range/exists; the matching rule is placed first (early match),
last before the default (worst case) or nowhere (only the default applies). Prints figures, asserts nothing.
Usage: python -m tests.bench.bench_rules [--calls N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from workrouter.config.rules_file import load_ruleset
from workrouter.domain.rules import classify, parse_ruleset

DEPARTMENTS = ["Finance", "Credit", "Claims", "Technical", "Sales"]
SEGMENTS = ["Gold", "Silver", "Bronze"]
TASK = {
    "source": "crm",
    "type": "invoice_dispute",
    "channel": "workitem",
    "title": "Customer disputes invoice 2026-11-0042 and asks for a partial refund",
    "priority": None,
    "requested_agent": None,
    "attributes": {"department": "Finance", "segment": "Gold", "language": "en", "amount": 1200.5, "vip": False},
}
MATCHING = {
    "all": [
        {"field": "attributes.department", "equals": "Finance"},
        {"field": "attributes.segment", "in": ["Gold", "Silver"]},
        {"field": "title", "regex": r"(?i)\binvoice\b"},
        {"field": "attributes.amount", "range": {"gte": 1000, "lt": 5000}},
    ]
}


def near_miss(i: int, regex: bool) -> dict[str, Any]:
    """A realistic rule condition that does not match TASK; some fail on the first test, some on the last."""
    department, segment = DEPARTMENTS[i % 5], SEGMENTS[i % 3]
    kind = i % 4
    if kind == 0:  # department and segment; fails late when the department is Finance
        return {
            "all": [
                {"field": "attributes.department", "equals": department},
                {"field": "attributes.segment", "equals": "Bronze" if department == "Finance" else segment},
            ]
        }
    if kind == 1 and regex:  # keywords in the title, or a work type
        return {
            "any": [{"field": "title", "regex": rf"(?i)\b(fraud|case-{i})\b"}, {"field": "type", "equals": f"t{i}"}]
        }
    if kind == 1:  # a work type, or a channel
        return {"any": [{"field": "type", "equals": f"t{i}"}, {"field": "channel", "equals": f"c{i}"}]}
    if kind == 2:  # amount band within a department
        return {
            "all": [
                {"field": "attributes.amount", "range": {"gte": 10_000 + i, "lt": 20_000 + i}},
                {"field": "attributes.department", "in": [department, "Claims"]},
            ]
        }
    return {  # language, and not a VIP
        "all": [
            {"field": "attributes.language", "in": ["fr", "de", f"x{i}"]},
            {"not": {"field": "attributes.vip", "equals": True}},
        ]
    }


def rule_file(size: int, match_at: int | None, regex: bool = True) -> dict[str, Any]:
    """A rule file of `size` rules (the last is the default) with the matching rule at index `match_at`."""
    rules: list[dict[str, Any]] = []
    for i in range(size - 1):
        when = MATCHING if i == match_at else near_miss(i, regex)
        rules.append(
            {
                "id": f"rule-{i:04d}",
                "description": f"generated rule {i}",
                "when": when,
                "set": {
                    "queue": DEPARTMENTS[i % 5].lower(),
                    "skills": [{"skill": DEPARTMENTS[i % 5].lower(), "min_level": i % 100}],
                    "priority": ["low", "medium", "high", "urgent"][i % 4],
                    "sla": {"duration": f"{1 + i % 48}h"},
                },
                "continue": i % 10 == 0 and i != match_at,
            }
        )
    rules.append({"id": "default", "default": True, "set": {"queue": "general", "priority": "low"}})
    return {"version": f"bench-{size}", "rules": rules}


def time_classify(doc: dict[str, Any], calls: int) -> tuple[float, float, int, tuple[str, ...]]:
    """Mean and p99 microseconds per classify call, how many rules the index lets through, and what matched."""
    ruleset = parse_ruleset(doc)
    matched = classify(ruleset, TASK).matched
    evaluated = ruleset.index.candidates(TASK).bit_count()
    for _ in range(min(calls, 1000)):
        classify(ruleset, TASK)
    samples: list[int] = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for _ in range(calls):
            start = clock()
            classify(ruleset, TASK)
            samples.append(clock() - start)
    finally:
        gc.enable()
    samples.sort()
    return statistics.fmean(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000, evaluated, matched


def time_load(size: int, repeats: int) -> None:
    """Print the time to read, validate and compile a rule file of `size` rules."""
    doc = rule_file(size, size - 2)
    text = yaml.safe_dump(doc, sort_keys=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(text)
        loads = []
        for _ in range(repeats):
            start = time.perf_counter()
            load_ruleset(path)
            loads.append(time.perf_counter() - start)
    parses = []
    for _ in range(repeats):
        start = time.perf_counter()
        parse_ruleset(doc)
        parses.append(time.perf_counter() - start)
    print(
        f"load {size} rules ({len(text) / 1024:.0f} KiB YAML): load_ruleset (YAML + validate + compile) "
        f"{min(loads) * 1000:.1f} ms, parse_ruleset from a dict {min(parses) * 1000:.1f} ms (best of {repeats})"
    )


def main() -> None:
    """Print classify costs per rule-set size and match position, then load times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="classify calls per case")
    args = parser.parse_args()
    print(f"classify, {args.calls} calls per case (per-call timer overhead ~0.1 us included)")
    cases = [(size, regex) for size in (10, 1000) for regex in (True, False)]
    for size, regex in cases:
        mix = "1 in 4 rules has a regex" if regex else "no regex"
        print(f"  {size} rules, {mix}:")
        for label, match_at in (("early match", 0), ("late match", size - 2), ("no match (default)", None)):
            mean, p99, evaluated, matched = time_classify(rule_file(size, match_at, regex), args.calls)
            print(
                f"    {label:<19} mean {mean:8.2f} us  p99 {p99:8.2f} us  "
                f"(index lets {evaluated} of {size - 1} rules through; matched: {', '.join(matched)})"
            )
    time_load(1000, repeats=5)


if __name__ == "__main__":
    main()
