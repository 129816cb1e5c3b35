"""Property: for random task lives (offers, RONAs, re-queues, transfers, parks, hand-backs, reschedules,
cancels; many events at the same instant), the queue-detail report's visits on real PostgreSQL equal a
plain Python reference that walks each task's events in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.infra import Infra
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.reports.runner import run_report
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.domain.reporting.request import ReportRequest

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
QUEUES = ("q1", "q2", "q3")
Visit = tuple[str, str, str, str, float | None, int, int]  # task, queue, entered, outcome, wait, offers, ronas


@dataclass
class Life:
    """One task's events, built step by step from hypothesis' choices."""

    task: str
    at: datetime
    events: list[Envelope]

    def add(self, payload: te.TaskEvent, gap: int) -> None:
        self.at += timedelta(seconds=gap)
        self.events.append(make_event(payload, source="/prop", key=self.task, time=self.at))


@st.composite
def lives(draw: st.DrawFn) -> list[Envelope]:
    """Events of 1-6 tasks, each a random walk through what the router can announce."""
    events: list[Envelope] = []
    for n in range(draw(st.integers(1, 6))):
        task = f"t{n}"
        life = Life(task, T0 + timedelta(seconds=draw(st.integers(0, 3600))), [])
        life.add(te.TaskCaptured(task_id=task, source="s", external_id=task, type="k", title=task), 0)
        state, queue = "waiting", draw(st.sampled_from(QUEUES))
        life.add(te.TaskQueued(task_id=task, queue=queue, domain="d", priority=1, sort_key="k"), 0)
        for _ in range(draw(st.integers(0, 12))):
            gap = draw(st.sampled_from((0, 0, 1, 5, 30, 120, 900)))
            step = draw(st.sampled_from(_STEPS[state]))
            state, queue = _apply(life, step, state, queue, gap=gap, draw=draw)
            if state == "closed":
                break
        events.extend(life.events)
    return events


_STEPS = {
    "waiting": ("offer", "accept", "requeue", "transfer", "park", "cancel", "reschedule"),
    "offered": ("rona", "accept", "cancel"),
    "assigned": ("finish", "hand_back", "cancel"),
    "aside": ("requeue", "cancel"),  # parked or rescheduled: comes back to a queue
}


def _apply(life: Life, step: str, state: str, queue: str, *, gap: int, draw: st.DrawFn) -> tuple[str, str]:
    t = life.task
    if step == "offer":
        life.add(te.TaskOffered(task_id=t, offer_id=f"o{len(life.events)}", agent_id="a", queue=queue, tier=0,
                                offer_expires_at=life.at + timedelta(seconds=30)), gap)  # fmt: skip
        return "offered", queue
    if step == "rona":
        life.add(te.TaskOfferRevoked(task_id=t, offer_id="o", agent_id="a", reason="rona"), gap)
        return "waiting", queue
    if step == "accept":
        life.add(te.TaskAccepted(task_id=t, agent_id="a", queue=queue), gap)
        return "assigned", queue
    if step in ("requeue", "transfer", "hand_back"):
        target = queue if step == "requeue" else draw(st.sampled_from(QUEUES))
        life.add(te.TaskQueued(task_id=t, queue=target, domain="d", priority=1, sort_key="k"), gap)
        return "waiting", target
    if step == "park":
        life.add(te.TaskParked(task_id=t, workbin="w"), gap)
        return "aside", queue
    if step == "reschedule":
        life.add(te.TaskRescheduled(task_id=t, wake_at=life.at + timedelta(hours=1)), gap)
        return "aside", queue
    if step == "finish":
        life.add(te.TaskCompleted(task_id=t, by="agent", agent_id="a"), gap)
        return "closed", queue
    life.add(te.TaskCancelled(task_id=t, by="source", reason="r"), gap)
    return "closed", queue


def reference(events: list[Envelope]) -> list[Visit]:
    """Visits by walking each task's events in order (docs/reporting.md, 'Visit')."""
    out: list[Visit] = []
    tasks: dict[str, list[Envelope]] = {}
    for env in events:
        assert isinstance(env.data, te.TaskEvent)
        tasks.setdefault(env.data.task_id, []).append(env)
    for task, evs in tasks.items():
        for visit in _visits(task, evs):
            out.append(visit)
    return sorted(out, key=lambda v: (v[2], v[0], v[1]))


def _visits(task: str, events: list[Envelope]) -> Iterator[Visit]:
    open_: list[object] | None = None  # [queue, entered, offers, ronas]
    ends = {
        te.TaskAccepted: "answered",
        te.TaskParked: "transferred",
        te.TaskCompleted: "abandoned",
        te.TaskCancelled: "abandoned",
        te.TaskRescheduled: "withdrawn",
    }

    def close(outcome: str, at: datetime) -> Visit:
        assert open_ is not None
        q, entered, offers, ronas = open_
        assert isinstance(entered, datetime)
        wait = (at - entered).total_seconds()
        return (task, str(q), entered.isoformat(), outcome, wait, int(str(offers)), int(str(ronas)))

    for env in events:
        data = env.data
        if isinstance(data, te.TaskQueued):
            if open_ is not None and open_[0] == data.queue:
                continue
            if open_ is not None:
                yield close("transferred", env.time)
            open_ = [data.queue, env.time, 0, 0]
        elif isinstance(data, te.TaskOffered) and open_ is not None:
            open_[2] = int(str(open_[2])) + 1
        elif isinstance(data, te.TaskOfferRevoked) and open_ is not None:
            open_[3] = int(str(open_[3])) + 1
        elif type(data) in ends and open_ is not None:
            yield close(ends[type(data)], env.time)
            open_ = None
    if open_ is not None:
        q, entered, offers, ronas = open_
        assert isinstance(entered, datetime)
        yield (task, str(q), entered.isoformat(), "waiting", None, int(str(offers)), int(str(ronas)))


@pytest.fixture(scope="module")
def schema(infra: Infra) -> Iterator[tuple[str, str]]:
    """(database URL, schema) of an event log of this module's own."""
    name = f"wr_prop_{uuid.uuid4().hex[:8]}"

    async def run(sql: str | None) -> None:
        pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=1)
        try:
            if sql is None:
                await EventLog(pool, schema=name).migrate()
            else:
                await pool.execute(sql)
        finally:
            await pool.close()

    asyncio.run(run(None))
    yield infra.database_url, name
    asyncio.run(run(f"DROP SCHEMA {name} CASCADE"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=lives())
def test_queue_detail_visits_equal_the_reference(schema: tuple[str, str], events: list[Envelope]) -> None:
    url, name = schema

    async def run() -> list[Visit]:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
        try:
            log = EventLog(pool, schema=name)
            await pool.execute(f"TRUNCATE {name}.event_log, {name}.task_state")
            await log.write([(e, None) for e in events])
            request = ReportRequest(start=T0, end=T0 + timedelta(days=2))
            report = await run_report(pool, "queue-detail", request, schema=name)
        finally:
            await pool.close()
        rows = [
            (r["task_id"], r["queue"], r["entered_at"], r["outcome"], r["wait_seconds"], r["offers"], r["ronas"])
            for r in report.rows
        ]
        return sorted(rows, key=lambda v: (v[2], v[0], v[1]))

    assert asyncio.run(run()) == reference(events)
