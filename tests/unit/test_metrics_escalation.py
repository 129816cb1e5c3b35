"""Escalation's at-SLA-risk gauge: counted before a scrape, not more often than its maximum age."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from workrouter.services.escalation.metrics import SLA_RISK_SQL, SlaRisk


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_counts_are_refreshed_at_most_every_max_age_and_kept_on_failure() -> None:
    answers: list[dict[str, int] | Exception] = [{"finance": 3}, {"finance": 1, "supervisor": 2}, RuntimeError("db")]
    calls = 0

    async def fetch() -> dict[str, int]:
        nonlocal calls
        calls += 1
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    clock = Clock()
    risk = SlaRisk(fetch, ["finance", "credit"], max_age=10, clock=clock)
    registry = CollectorRegistry()
    registry.register(risk)
    assert registry.get_sample_value("workrouter_tasks_at_sla_risk", {"queue": "finance"}) is None  # not counted yet
    await risk.refresh()
    assert registry.get_sample_value("workrouter_tasks_at_sla_risk", {"queue": "finance"}) == 3
    assert registry.get_sample_value("workrouter_tasks_at_sla_risk", {"queue": "credit"}) == 0
    clock.now += 9
    await risk.refresh()
    assert calls == 1  # fresh enough
    clock.now += 1
    await risk.refresh()
    assert registry.get_sample_value("workrouter_tasks_at_sla_risk", {"queue": "supervisor"}) == 2
    clock.now += 10
    with pytest.raises(RuntimeError):
        await risk.refresh()
    assert registry.get_sample_value("workrouter_tasks_at_sla_risk", {"queue": "supervisor"}) == 2  # last count kept


def test_the_query_counts_open_records_with_an_sla_step_taken() -> None:
    assert "record->>'closed' = 'false'" in SLA_RISK_SQL
    assert 'starts with "sla:"' in SLA_RISK_SQL
