"""The seed rule set in deploy/config/rules.yaml loads and places realistic back-office tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workrouter.config.rules_file import load_ruleset
from workrouter.contracts.common import SkillRequirement
from workrouter.domain.rules import Classification, RuleSet, classify

SEED = Path(__file__).resolve().parents[2] / "deploy" / "config" / "rules.yaml"


@pytest.fixture(scope="module")
def seed() -> RuleSet:
    """The seed rule set."""
    return load_ruleset(SEED)


def task(type_: str, title: str = "Please look at this", source: str = "crm", **attributes: Any) -> dict[str, Any]:
    """Facts as the prioritiser passes them."""
    return {
        "source": source,
        "type": type_,
        "channel": "workitem",
        "title": title,
        "priority": None,
        "requested_agent": None,
        "attributes": attributes,
    }


def test_the_seed_loads_with_its_version(seed: RuleSet) -> None:
    assert seed.version == "2026-11-23.1"
    assert seed.default.id == "default"
    assert len(seed.rules) > 15


def test_finance_gold_is_high(seed: RuleSet) -> None:
    result = classify(seed, task("invoice_dispute", department="Finance", segment="Gold", amount=120.0, language="en"))
    assert (result.queue, result.priority, result.matched) == ("finance", 750, ("finance-gold",))
    assert result.skills == (SkillRequirement(skill="finance", min_level=50),)
    assert (result.sla_seconds, result.due_in_seconds, result.expires_in_seconds) == (4 * 3600, 2 * 86400, 14 * 86400)
    assert result.business_value == 100.0


def test_credit_silver_is_medium(seed: RuleSet) -> None:
    result = classify(seed, task("credit_application", source="bpm", department="Credit", segment="Silver"))
    assert (result.queue, result.priority, result.matched) == ("credit", 500, ("credit-silver", "default"))
    assert result.expires_in_seconds == 30 * 86400, "the default fills what the rule left unset"
    assert result.skills == (SkillRequirement(skill="credit", min_level=40),)


def test_vip_and_large_amount_add_value_before_placement(seed: RuleSet) -> None:
    result = classify(seed, task("claim", department="Claims", segment="Gold", amount=40_000, vip=True))
    assert result.matched == ("large-amount", "vip-customer", "claims-large", "default")
    assert (result.queue, result.priority, result.business_value) == ("claims", 750, 500.0)


def test_fraud_in_the_title_is_urgent_whatever_the_department(seed: RuleSet) -> None:
    result = classify(seed, task("invoice_dispute", title="Suspected FRAUD on card", department="Finance"))
    assert (result.queue, result.priority, result.sla_seconds) == ("claims", 900, 4 * 3600)
    assert SkillRequirement(skill="fraud", min_level=70) in result.skills


def test_critical_ticket_is_urgent_and_other_tickets_medium(seed: RuleSet) -> None:
    critical = classify(seed, task("tech_ticket", source="ticketing", department="Technical", severity="critical"))
    assert (critical.queue, critical.priority, critical.due_in_seconds) == ("technical", 900, 8 * 3600)
    low = classify(seed, task("tech_ticket", source="ticketing", severity="low"))
    assert (low.queue, low.priority, low.matched) == ("technical", 500, ("tech", "default"))


def test_french_claim_needs_french(seed: RuleSet) -> None:
    result = classify(seed, task("claim", language="fr"))
    assert result.matched == ("claims-french", "default")
    assert result.skills == (
        SkillRequirement(skill="claims", min_level=30),
        SkillRequirement(skill="lang:fr", min_level=60),
    )
    assert (result.sla_seconds, result.expires_in_seconds) == (3 * 86400, 30 * 86400), "the default fills the rest"


def test_big_gold_lead(seed: RuleSet) -> None:
    result = classify(seed, task("lead", department="Sales", segment="Gold", value=80_000))
    assert result.matched == ("large-lead", "sales-gold-lead", "default")
    assert (result.queue, result.priority, result.business_value, result.due_in_seconds) == (
        "sales",
        500,
        1000.0,
        4 * 3600,
    )


def test_unknown_work_falls_to_general_by_language(seed: RuleSet) -> None:
    assert classify(seed, task("other", language="no")).skills == (SkillRequirement(skill="lang:no", min_level=60),)
    result = classify(seed, task("other"))
    assert (result.queue, result.priority, result.matched) == ("general", 250, ("default",))


def test_work_type_defaults_survive_the_default_rule(seed: RuleSet) -> None:
    base = Classification(
        queue="claims",
        skills=(),
        priority=500,
        business_value=None,
        sla_seconds=2 * 86400,
        sla_calendar="24x7",
        due_in_seconds=2 * 86400,
        expires_in_seconds=30 * 86400,
        matched=(),
        ruleset_version="",
    )
    result = classify(seed, task("other"), base)
    assert (result.queue, result.priority, result.sla_seconds, result.matched) == ("claims", 500, 2 * 86400, ())
