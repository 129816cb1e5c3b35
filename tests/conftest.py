"""Shared fixtures: real infrastructure for the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.infra import Infra, InfraUnavailableError, resolve

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration as `integration`."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """Real Kafka, Redis and PostgreSQL; fails (never skips) when they cannot be had."""
    try:
        yield resolve()
    except InfraUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many integration tests ran against real infrastructure, so CI logs prove it."""
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        reports = terminalreporter.stats.get(outcome, [])
        counts[outcome] = sum(
            1 for r in reports if getattr(r, "when", "call") == "call" and "integration" in getattr(r, "keywords", {})
        )
    if any(counts.values()):
        terminalreporter.write_line(
            "integration tests on real Kafka/Redis/PostgreSQL: " + ", ".join(f"{n} {k}" for k, n in counts.items())
        )
