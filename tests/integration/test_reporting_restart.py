"""The reporting service killed with SIGKILL while it ingests, then restarted: every event is in the log
once and was folded into its task's row once (real Kafka, real PostgreSQL, the service as a process)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from tests.integration.test_reporting_day import cli, free_port, start_reporting
from tests.support.infra import Infra
from tests.support.scripted_day import write_config
from tests.support.wait import wait_until_async
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.topics import TopicNames

TASKS = 2_000
T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)


def task_life(n: int) -> list[Envelope]:
    """Five events of one task, a second apart."""
    task = f"task-{n:05d}"
    at = T0 + timedelta(seconds=n)
    payloads: list[te.TaskEvent] = [
        te.TaskCaptured(task_id=task, source="crm", external_id=task, type="invoice", title=task),
        te.TaskQueued(task_id=task, queue="finance", domain="backoffice", priority=1, sort_key="k"),
        te.TaskAccepted(task_id=task, agent_id=f"a{n % 3 + 1}", queue="finance"),
        te.TaskWrapUpStarted(task_id=task, agent_id=f"a{n % 3 + 1}", after_work_seconds=10),
        te.TaskCompleted(task_id=task, by="agent", agent_id=f"a{n % 3 + 1}", wrap_up_code="processed"),
    ]
    return [make_event(p, source="/test", key=task, time=at + timedelta(seconds=i)) for i, p in enumerate(payloads)]


async def test_a_killed_reporting_service_loses_nothing_and_folds_nothing_twice(
    infra: Infra, fresh_database: str, tmp_path: Path
) -> None:
    topics = TopicNames(f"t{uuid.uuid4().hex[:8]}.")
    env = {
        **os.environ,
        "WR_BROKER_URL": f"kafka://{infra.kafka_bootstrap}",
        "WR_DATABASE_URL": fresh_database,
        "WR_TOPIC_PREFIX": topics.prefix,
        "WR_CONFIG_DIR": str(write_config(tmp_path / "config")),
        "WR_HTTP_PORT": str(free_port()),
        "WR_REPORTING_GROUP": f"reporting-{uuid.uuid4().hex[:8]}",
        "WR_REPORTING_BATCH": "200",
    }
    events = [e for n in range(TASKS) for e in task_life(n)]
    bus = KafkaBus(infra.kafka_bootstrap, topics=topics.specs(), deadletter_topic=topics.deadletter)
    await bus.start()
    for i in range(0, len(events), 500):
        await asyncio.gather(*(bus.publish(topics.tasks, e) for e in events[i : i + 500]))
    await bus.stop()

    db = await asyncpg.connect(fresh_database)

    async def logged() -> int:
        try:
            return int(await db.fetchval("SELECT count(*) FROM event_log"))
        except asyncpg.UndefinedTableError:
            return 0

    async def more_than(n: int) -> bool:
        return await logged() > n

    async def at_least(n: int) -> bool:
        return await logged() >= n

    first = start_reporting(env, tmp_path / "first.log")
    try:
        await wait_until_async(lambda: more_than(1_000), timeout=60, interval=0.05, what="some events in")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = await logged()
        assert at_kill < len(events), "the kill came after everything was in: make the test load bigger"
        second = start_reporting(env, tmp_path / "second.log")
        try:
            await wait_until_async(lambda: at_least(len(events)), timeout=120, what="every event")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        assert await logged() == len(events), "each event once"
        folded = await db.fetchrow("SELECT count(*) AS tasks, sum(events) AS events FROM task_state")
        assert folded is not None
        assert (folded["tasks"], folded["events"]) == (TASKS, len(events)), "each event folded into its task once"
        statuses = await db.fetch("SELECT status, count(*) FROM task_state GROUP BY status")
        assert [(r["status"], r["count"]) for r in statuses] == [("completed", TASKS)]
    finally:
        if first.poll() is None:
            first.kill()
        await db.close()


async def test_a_report_on_a_database_without_the_log_says_what_to_start(fresh_database: str) -> None:
    env = {**os.environ, "WR_DATABASE_URL": fresh_database}
    args = ("report", "tasks", "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-03T00:00:00Z")
    done = await asyncio.to_thread(cli, *args, env=env)
    assert done.returncode == 2
    assert b"no event log in schema 'public'" in done.stderr
    assert b"make service NAME=reporting" in done.stderr
