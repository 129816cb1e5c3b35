"""The checked-in JSON Schema of rule files is what the code generates; the CLI checks files."""

from __future__ import annotations

import json
from pathlib import Path

from workrouter.config.rules_file import read_rule_file, schema_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "rules.schema.json"
SEED = ROOT / "deploy" / "config" / "rules.yaml"
REGENERATE = "run `.venv/bin/workrouter config schemas docs`"


def test_checked_in_schema_matches_the_code() -> None:
    assert SCHEMA.exists(), f"docs/rules.schema.json is missing: {REGENERATE}"
    assert SCHEMA.read_text() == schema_json(), f"docs/rules.schema.json is stale: {REGENERATE}"


def test_schema_describes_the_file() -> None:
    schema = json.loads(schema_json())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["rules"]
    assert schema["additionalProperties"] is False
    field = schema["$defs"]["FieldCondition"]
    assert set(field["properties"]) == {"field", "equals", "in", "regex", "exists", "range"}
    assert (field["minProperties"], field["maxProperties"]) == (2, 2), "field plus exactly one operator"
    assert set(schema["$defs"]["Rule"]["properties"]) == {"id", "description", "when", "set", "continue", "default"}
    assert '"null"' not in json.dumps(schema), "keys are left out, never null"


def test_seed_keys_are_all_in_the_schema() -> None:
    schema = json.loads(schema_json())
    seed = read_rule_file(SEED.read_text())
    assert set(seed) <= set(schema["properties"])
    rule_keys = set(schema["$defs"]["Rule"]["properties"])
    set_keys = set(schema["$defs"]["Assignments"]["properties"])
    for rule in seed["rules"]:
        assert set(rule) <= rule_keys
        assert set(rule["set"]) <= set_keys
