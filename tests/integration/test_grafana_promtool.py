"""promtool parses and type-checks every PromQL expression of the dashboards, and names the panel it rejects."""

from __future__ import annotations

import shutil

import pytest

from workrouter.grafana.generate import Query
from workrouter.grafana.promql_check import check, prometheus_queries


@pytest.fixture
def promtool() -> str:
    """promtool from Debian's prometheus package (never skipped: CI installs it)."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run `make infra-install` (Debian package prometheus)", pytrace=False)
    return found


def test_every_dashboard_expression_passes_promtool(promtool: str) -> None:
    assert check(prometheus_queries(), promtool) == []


def test_a_rejected_expression_is_reported_by_dashboard_panel_and_target(promtool: str) -> None:
    found = prometheus_queries()
    broken = Query("workrouter-supervisor-live", "Broken", "B", "prometheus", 'sum(rate(x{queue=~"$queue"}))')
    problems = check([*found[:3], broken, *found[3:]], promtool)
    assert len(problems) == 1
    assert problems[0].startswith("workrouter-supervisor-live / Broken / B: ")
    assert "expected type range vector" in problems[0]
