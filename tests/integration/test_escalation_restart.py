"""Durable timers on real Kafka and PostgreSQL: 10,000 timers, kill -9 of the escalation service while
they fire, a restart; every due timer fires exactly once (by event id) and none fires early."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.support.credentials import credentialed_config
from tests.support.infra import ROOT, Infra
from tests.support.wait import wait_until, wait_until_async
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.bus.port import Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.topics import TopicNames

TIMERS = 10_000
SLACK_SECONDS = 45  # the first timer is due this long after the test starts: the service plans 10k timers first


async def timers_planned(database_url: str) -> Callable[[], Awaitable[bool]]:
    """A predicate: the escalation service has planned every task's timer.

    It counts task records, not timers: a record and its timers are saved in one statement, and a
    timer that already fired is deleted once its task has moved on (expired, woken up), so on a slow
    machine, where planning outlasts SLACK_SECONDS, the timer count never reaches TIMERS.
    """

    async def planned() -> bool:
        conn = await asyncpg.connect(database_url)
        try:
            count = await conn.fetchval("SELECT count(*) FROM escalation_tasks")
        except asyncpg.PostgresError:  # not created yet, or being created
            return False
        finally:
            await conn.close()
        return bool(count >= TIMERS)

    return planned


@dataclass
class Fired:
    """What the escalation service published, as it came off `wr.tasks` (every copy)."""

    copies: dict[tuple[str, str], list[Envelope]] = field(default_factory=lambda: defaultdict(list))

    async def record(self, envelope: Envelope, _: Delivery) -> None:
        data = envelope.data
        if isinstance(data, te.TaskExpired):
            self.copies[(data.task_id, "expiry")].append(envelope)
        elif isinstance(data, te.TaskResumed):
            self.copies[(data.task_id, "wake")].append(envelope)

    def due(self, envelope: Envelope) -> datetime:
        data = envelope.data
        if isinstance(data, te.TaskExpired):
            return data.expired_at
        assert isinstance(data, te.TaskResumed)
        assert data.wake_at is not None
        return data.wake_at


def start_escalation(infra: Infra, database_url: str, prefix: str, log: Path) -> subprocess.Popen[bytes]:
    """`workrouter service escalation` as its own process, on the seed with fresh credentials (it refuses the
    shipped ones)."""
    config = log.parent / "config"
    if not config.exists():
        credentialed_config(config)
    env = {
        **os.environ,
        "WR_BROKER_URL": f"kafka://{infra.kafka_bootstrap}",
        "WR_DATABASE_URL": database_url,
        "WR_TOPIC_PREFIX": prefix,
        "WR_CONFIG_DIR": str(config),
        "WR_LOG_LEVEL": "INFO",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workrouter.cli", "service", "escalation"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def timer_events(start: datetime) -> list[Envelope]:
    """Half the tasks expire, half wake from a reschedule; due times spread over 30 s from `start`."""
    events = []
    for i in range(TIMERS):
        task_id = f"task-{i:05d}"
        due = start + timedelta(seconds=30 * i / TIMERS)
        payload: te.TaskEvent = (
            te.TaskCaptured(task_id=task_id, source="crm", external_id=task_id, type="lead", title="t", expires_at=due)
            if i % 2 == 0
            else te.TaskRescheduled(task_id=task_id, wake_at=due)
        )
        events.append(make_event(payload, source="/test", key=task_id))
    return events


@pytest.mark.timeout(600)
async def test_every_due_timer_fires_once_and_never_early_across_a_kill(
    infra: Infra, fresh_database: str, tmp_path: Path
) -> None:
    database = fresh_database
    prefix = f"t{uuid.uuid4().hex[:8]}."
    topics = TopicNames(prefix)
    fired = Fired()
    bus = KafkaBus(infra.kafka_bootstrap, topics=topics.specs(), deadletter_topic=topics.deadletter)
    bus.subscribe(topics.tasks, f"log-{prefix}", fired.record)
    await bus.start()
    log = tmp_path / "escalation.log"
    print(f"\nescalation log: {log}")
    proc = start_escalation(infra, database, prefix, log)
    try:
        start = datetime.now(UTC) + timedelta(seconds=SLACK_SECONDS)
        events = timer_events(start)
        gate = asyncio.Semaphore(64)

        async def publish(event: Envelope) -> None:
            async with gate:
                await bus.publish(topics.tasks, event)

        await asyncio.gather(*(publish(e) for e in events))
        planned = await timers_planned(database)
        await wait_until_async(planned, timeout=300, interval=0.25, what="all timers saved")
        ingested = (datetime.now(UTC) - start).total_seconds() + SLACK_SECONDS
        await wait_until(lambda: len(fired.copies) >= TIMERS // 3, timeout=120, what="a third fired")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        at_kill = len(fired.copies)
        killed_at = datetime.now(UTC)
        proc = start_escalation(infra, database, prefix, log)
        await wait_until(lambda: len(fired.copies) >= TIMERS, timeout=180, what="every timer fired")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        await bus.stop()

    expected = {(f"task-{i:05d}", "expiry" if i % 2 == 0 else "wake") for i in range(TIMERS)}
    assert set(fired.copies) == expected
    ids = {key: {e.id for e in copies} for key, copies in fired.copies.items()}
    assert [key for key, found in ids.items() if len(found) != 1] == []  # exactly once, by event id
    early = [key for key, copies in fired.copies.items() for e in copies if e.time < fired.due(e)]
    assert early == []
    recovered = min(e.time for c in fired.copies.values() for e in c if e.time > killed_at) - killed_at
    lateness = sorted((c[0].time - fired.due(c[0])).total_seconds() * 1000 for c in fired.copies.values())
    copies = sum(len(c) for c in fired.copies.values()) - TIMERS
    print(
        f"\n{TIMERS} timers planned in {ingested:.1f} s, {at_kill} fired before kill -9, "
        f"first fire {recovered.total_seconds():.2f} s after it; "
        f"{copies} second copies in the topic (same ids); lateness ms p50 {statistics.median(lateness):.0f} "
        f"p99 {lateness[int(len(lateness) * 0.99)]:.0f} max {lateness[-1]:.0f}"
    )
