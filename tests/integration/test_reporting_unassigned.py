"""A handle ends at `task.unassigned` when the task's withdrawal came first in its history (real PostgreSQL).

A source's cancel and an agent's claim can cross: the log then says cancelled, accepted, and only the
router's TaskUnassigned says when the agent stopped holding the task. Before it, agent-stats counted the
agent busy with the cancelled task until the end of the period (found by the end-to-end test).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest_asyncio

from tests.support.infra import Infra
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.reports.runner import run_report
from workrouter.contracts import task_events as te
from workrouter.contracts.agent_events import AgentPresenceChanged
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.domain.reporting.request import ReportRequest

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # in the past: reports cut what is still open at now()


def at(payload: Payload, seconds: float, key: str = "t1") -> Envelope:
    return make_event(payload, source="/test", key=key, subject=key, time=T0 + timedelta(seconds=seconds))


def crossed(*, unassigned: bool) -> list[Envelope]:
    """Agent a logged in for an hour; t1 cancelled by its source just before a's claim was announced."""
    events = [
        at(AgentPresenceChanged(agent_id="a", domain="d", presence="ready"), 0, "d"),
        at(te.TaskQueued(task_id="t1", queue="q", domain="d", priority=1, sort_key="k"), 10),
        at(te.TaskCancelled(task_id="t1", by="source", reason="the customer withdrew it"), 30),
        at(te.TaskAccepted(task_id="t1", agent_id="a", how="pull", queue="q"), 31),
    ]
    if unassigned:
        events.append(at(te.TaskUnassigned(task_id="t1", agent_id="a", reason="cancelled"), 35))
    return [*events, at(AgentPresenceChanged(agent_id="a", domain="d", presence="offline"), 3600, "d")]


@pytest_asyncio.fixture
async def pool(infra: Infra) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    name = f"wr_unassigned_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=2)
    await EventLog(pool, schema=name).migrate()
    try:
        yield pool, name
    finally:
        await pool.execute(f"DROP SCHEMA {name} CASCADE")
        await pool.close()


async def busy(pool: asyncpg.Pool, schema: str, events: list[Envelope]) -> float:
    await pool.execute(f"TRUNCATE {schema}.event_log, {schema}.task_state")
    await EventLog(pool, schema=schema).write([(e, None) for e in events])
    request = ReportRequest(start=T0, end=T0 + timedelta(hours=1))
    (row,) = (await run_report(pool, "agent-stats", request, schema=schema)).rows
    assert row["agent_id"] == "a"
    return float(row["busy_seconds"])


async def test_the_unassigned_event_ends_the_handle(pool: tuple[asyncpg.Pool, str]) -> None:
    assert await busy(*pool, crossed(unassigned=True)) == 4.0


async def test_without_it_the_agent_looks_busy_to_the_end_of_the_period(pool: tuple[asyncpg.Pool, str]) -> None:
    assert await busy(*pool, crossed(unassigned=False)) == 3600.0 - 31


async def test_occupancy_counts_busy_time_while_logged_in_only_and_never_exceeds_100(
    pool: tuple[asyncpg.Pool, str],
) -> None:
    """Agent a logs in for 10 minutes, accepts t1 after one, goes offline at 10 minutes still holding it and
    completes it at 50 minutes. Busy is the whole hold (49 min); occupancy is the busy time while logged in
    (9 min) over logged-in time (10 min): 90 %, not 490 %."""
    pool_, schema = pool
    events = [
        at(AgentPresenceChanged(agent_id="a", domain="d", presence="ready"), 0, "d"),
        at(te.TaskQueued(task_id="t1", queue="q", domain="d", priority=1, sort_key="k"), 30),
        at(te.TaskAccepted(task_id="t1", agent_id="a", how="offer", queue="q"), 60),
        at(AgentPresenceChanged(agent_id="a", domain="d", presence="offline"), 600, "d"),
        at(te.TaskCompleted(task_id="t1", by="agent", agent_id="a"), 3000),
    ]
    await pool_.execute(f"TRUNCATE {schema}.event_log, {schema}.task_state")
    await EventLog(pool_, schema=schema).write([(e, None) for e in events])
    request = ReportRequest(start=T0, end=T0 + timedelta(hours=1))
    (row,) = (await run_report(pool_, "agent-stats", request, schema=schema)).rows
    assert (row["logged_in_seconds"], row["busy_seconds"], row["occupancy_pct"]) == (600.0, 2940.0, 90.0)
