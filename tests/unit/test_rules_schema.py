"""The checked-in JSON Schema of rule files is what the code generates; the CLI checks files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from workrouter.config.rules_file import main, read_rule_file, schema_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "rules.schema.json"
SEED = ROOT / "deploy" / "config" / "rules.yaml"
REGENERATE = "run `.venv/bin/python -m workrouter.config.rules_file --schema > docs/rules.schema.json`"


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


def test_cli_check_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", str(SEED)]) == 0
    assert capsys.readouterr().out == "2026-11-23.1\n"


def test_cli_check_prints_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - {id: d, default: true, set: {priority: hihg}}\n")
    assert main(["--check", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "rule 'd' (#1): set.priority: unknown level 'hihg'" in captured.err


def test_cli_check_without_version_prints_the_content_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"rules:\r\n  - {id: d, default: true, set: {queue: general}}\r\n")
    assert main(["--check", str(path), "--calendar", "emea"]) == 0
    assert capsys.readouterr().out == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12] + "\n"


def test_cli_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--schema"]) == 0
    assert capsys.readouterr().out == schema_json()
