"""escalation.yaml: the seed loads, bad input is refused with the place and the reason, the schema is current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from workrouter.config.escalation import Known, load_escalation, schema_json
from workrouter.config.files import ConfigError
from workrouter.domain.escalation.policy import EscalationFile

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "deploy" / "config" / "escalation.yaml"
KNOWN = Known(
    queues=frozenset({"finance", "credit", "claims", "general", "technical", "experts", "sales", "supervisor"}),
    worktypes=frozenset({"claim", "invoice_dispute", "credit_application", "tech_ticket", "lead"}),
    agents=frozenset({"sam", "hugo"}),
    calendars=frozenset({"24x7", "office-de"}),
)
STEP: dict[str, Any] = {"at": "100%", "actions": ["move_queue"], "queue": "supervisor"}


def policy(**over: Any) -> dict[str, Any]:
    return {"name": "p", "applies_to": {"queues": ["finance"]}, "steps": [STEP]} | over


def test_the_seed_loads_and_follows_the_published_schema() -> None:
    config = load_escalation(SEED, KNOWN)
    assert [p.name for p in config.policies] == ["backoffice", "claims"]
    assert not config.policies[0].escalate_again
    assert [s.fraction for s in config.policies[0].steps] == [0.5, 0.8, 1.0]
    errors = list(Draft202012Validator(json.loads(schema_json())).iter_errors(yaml.safe_load(SEED.read_text())))
    assert errors == []


def test_the_checked_in_schema_matches_the_code() -> None:
    regenerate = ".venv/bin/workrouter config schemas docs"
    assert (ROOT / "docs" / "escalation.schema.json").read_text() == schema_json(), f"stale: run {regenerate}"


def test_a_missing_file_means_no_escalation(tmp_path: Path) -> None:
    assert load_escalation(tmp_path / "escalation.yaml", KNOWN) == EscalationFile()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"policies": [policy(steps=[{**STEP, "at": "80"}])]}, "a share of the SLA like '80%'"),
        ({"policies": [policy(steps=[{**STEP, "at": "0%"}])]}, "above 0%"),
        ({"policies": [policy(steps=[{"at": "50%", "actions": ["move_queue"]}])]}, "'queue' is given exactly when"),
        ({"policies": [policy(steps=[{**STEP, "raise_by": 5}])]}, "'raise_by' is given exactly when"),
        ({"policies": [policy(steps=[{**STEP, "at": "90%"}, {**STEP, "at": "80%"}])]}, "strictly ascending"),
        ({"policies": [policy(applies_to={})]}, "at least one queue or work type"),
        ({"policies": [policy(steps=[{**STEP, "actions": ["move_queue", "escalate"]}])]}, "actions.1"),
        ({"policies": [policy(steps=[{**STEP, "wait": 1}])]}, "wait"),
        ({"olas": [{"worktype": "lead", "within": "12x", "queue": "sales"}]}, "bad duration '12x'"),
        ({"olas": [{"worktype": "lead", "within": "12h"}]}, "exactly one target"),
        (
            {
                "reprioritise": [
                    {
                        "name": "r",
                        "applies_to": {"queues": ["sales"]},
                        "steps": [{"before_due": "4h", "raise_by": 1}, {"before_due": "1d", "raise_by": 1}],
                    }
                ]
            },
            "nearer the due time",
        ),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    path = tmp_path / "escalation.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as caught:
        load_escalation(path, KNOWN)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_unknown_names_are_all_listed_with_where_they_are(tmp_path: Path) -> None:
    doc = {
        "policies": [
            policy(applies_to={"queues": ["finanse"]}, steps=[{**STEP, "queue": "boss"}]),
            policy(steps=[{"at": "100%", "actions": ["park"], "workbin": "bob"}]),
        ],
        "olas": [{"worktype": "tech", "within": "12h", "queue": "experts", "calendar": "office-fr"}],
    }
    path = tmp_path / "escalation.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as caught:
        load_escalation(path, KNOWN)
    text = str(caught.value)
    for expected in (
        "policies 'p'.applies_to.queues: unknown queue 'finanse'",
        "policies 'p'.steps[0].queue: unknown queue 'boss'",
        "policies 'p': the name is used twice",
        "policies 'p'.steps[0].workbin: unknown agent 'bob'",
        "olas[0] (tech): unknown work type 'tech'",
        "olas[0] (tech).calendar: unknown calendar 'office-fr'",
    ):
        assert expected in text


def test_a_step_cannot_both_move_and_park() -> None:
    step = {"at": "100%", "actions": ["move_queue", "park"], "queue": "q", "workbin": "sam"}
    with pytest.raises(ValidationError, match="not both"):
        EscalationFile.model_validate({"policies": [policy(steps=[step])]})
