"""Every SQL query of every Grafana panel (and variable) runs on the real reporting schema with the scripted
day in it, and returns rows: a broken or empty panel fails here, not in front of a supervisor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.support.scripted_day import DAY, scripted_day, write_config
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.config.routing import load_routing_config
from workrouter.grafana.generate import expand_sql, queries
from workrouter.services.reporting.ingest import dimensions

SQL_QUERIES = [q for q in queries() if q.datasource == "grafana-postgresql-datasource"]


@pytest.fixture
async def pool(fresh_database: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    """A reporting database holding the scripted day, as the reporting service would have written it."""
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    log = EventLog(pool)
    await log.migrate()
    await log.sync_dimensions(dimensions(load_routing_config(write_config(tmp_path / "config"))))
    events, _ = scripted_day()
    assert await log.write([(envelope, None) for _, envelope in events]) == len(events)
    yield pool
    await pool.close()


def test_the_dashboards_have_sql_panels_and_a_variable() -> None:
    panels = {q.panel for q in SQL_QUERIES}
    assert len(panels) >= 8
    assert "$queue" in panels


async def test_every_panel_query_runs_and_returns_rows(pool: asyncpg.Pool) -> None:
    failures = []
    for query in SQL_QUERIES:
        sql = expand_sql(query.text, DAY, DAY + timedelta(days=1), {"queue": ["finance", "claims"]})
        try:
            rows = await pool.fetch(sql)
        except asyncpg.PostgresError as exc:
            failures.append(f"{query.dashboard} / {query.panel}: {type(exc).__name__}: {exc}")
            continue
        if not rows:
            failures.append(f"{query.dashboard} / {query.panel}: no rows")
    assert not failures, "\n".join(failures)


async def test_a_panel_shows_the_same_figures_as_the_report(pool: asyncpg.Pool) -> None:
    outcomes = next(q for q in SQL_QUERIES if q.panel == "Queue outcomes")
    rows = await pool.fetch(expand_sql(outcomes.text, DAY, DAY + timedelta(days=1), {"queue": ["finance", "claims"]}))
    assert [(r["Queue"], r["Offered"], r["Answered"], r["Abandoned"], r["Transferred"]) for r in rows] == [
        ("claims", 4, 1, 2, 1),
        ("finance", 5, 4, 0, 0),
    ]
