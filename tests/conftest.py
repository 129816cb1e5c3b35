"""Shared fixtures: real infrastructure for the integration tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.infra import Infra, InfraUnavailableError, resolve

INTEGRATION_DIR = Path(__file__).parent / "integration"
_E2E_LEFT = pytest.StashKey[bool]()


E2E_KAFKA = "test_e2e_kafka.py"
E2E_NOTE = (
    "the end-to-end test over Kafka (tests/integration/test_e2e_kafka.py, 5-6 min) was left out (WR_E2E_KAFKA=0); "
    "CI runs it, and so does `make test-e2e`"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration as `integration`. WR_E2E_KAFKA=0 leaves the long end-to-end
    test over Kafka out, for a quicker local run (said in the summary); `make test` and CI run it."""
    left_out = os.environ.get("WR_E2E_KAFKA") == "0"
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
        (left if Path(str(item.fspath)).name == E2E_KAFKA and left_out else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
        config.stash[_E2E_LEFT] = True


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """Real Kafka, Redis and PostgreSQL; fails (never skips) when they cannot be had."""
    try:
        yield resolve()
    except InfraUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
async def fresh_database(infra: Infra) -> AsyncIterator[str]:
    """The URL of a PostgreSQL database of the test's own (for a service that owns its tables), dropped after."""
    name = f"wr_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield infra.database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def fresh_schema(infra: Infra) -> AsyncIterator[str]:
    """A fresh PostgreSQL schema name in the shared test database, dropped with everything in it afterwards."""
    name = f"wr_test_{uuid.uuid4().hex[:12]}"
    yield name
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many integration tests ran against real infrastructure, so CI logs prove it."""
    if terminalreporter.config.stash.get(_E2E_LEFT, False):
        terminalreporter.write_line(E2E_NOTE)
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
