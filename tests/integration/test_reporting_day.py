"""The scripted day through real Kafka into the reporting service (a process) and real PostgreSQL:
every report's figures, over HTTP (JSON and CSV) and from the CLI, are the ones worked out by hand
in tests/support/scripted_day.py."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.support.infra import ROOT, Infra
from tests.support.scripted_day import scripted_day, write_config
from tests.support.wait import wait_until_async
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.config.credentials import new_secret
from workrouter.config.sources import hash_api_key
from workrouter.contracts.topics import TopicNames

pytestmark = pytest.mark.asyncio(loop_scope="module")
DAY = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"}

REPORTS_KEY = new_secret()  # WR_REPORTS_KEY_SHA256: a script reading the reports
KEY = {"Authorization": f"Bearer {REPORTS_KEY}"}


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_reporting(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`workrouter service reporting` as its own process."""
    with log.open("wb") as out:
        cmd = [sys.executable, "-m", "workrouter.cli", "service", "reporting"]
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """`workrouter <args>`, its output captured."""
    return subprocess.run([sys.executable, "-m", "workrouter.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          check=False)  # fmt: skip


@dataclass
class Reporting:
    """The reporting process after the day went in, and how to ask it."""

    url: str
    env: dict[str, str]
    database_url: str

    async def report(self, name: str, **params: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.get(f"{self.url}/v1/reports/{name}", params={**DAY, **params}, headers=KEY)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["rows"]
        return rows


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def day(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Reporting]:
    """One reporting process, one day of events through Kafka; the figures are read by the tests below."""
    name = f"wr_test_day_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = infra.database_url.rsplit("/", 1)[0] + f"/{name}"
    folder = tmp_path_factory.mktemp("day")
    port = free_port()
    topics = TopicNames(f"t{uuid.uuid4().hex[:8]}.")
    env = {
        **os.environ,
        "WR_BROKER_URL": f"kafka://{infra.kafka_bootstrap}",
        "WR_DATABASE_URL": database_url,
        "WR_TOPIC_PREFIX": topics.prefix,
        "WR_CONFIG_DIR": str(write_config(folder / "config")),
        "WR_HTTP_PORT": str(port),
        "WR_REPORTS_KEY_SHA256": hash_api_key(REPORTS_KEY),
        "WR_REPORTING_GROUP": f"reporting-{uuid.uuid4().hex[:8]}",
    }
    proc = start_reporting(env, folder / "reporting.log")
    bus = KafkaBus(infra.kafka_bootstrap, topics=topics.specs(), deadletter_topic=topics.deadletter)
    await bus.start()
    events, twice = scripted_day()
    try:
        for kind, envelope in events:
            await bus.publish(topics.tasks if kind == "tasks" else topics.agents, envelope)
        await bus.publish(topics.tasks, twice)  # a redelivery: the log must keep it once
        db = await asyncpg.connect(database_url)

        async def all_in() -> bool:
            assert proc.poll() is None, (folder / "reporting.log").read_text()
            try:
                return int(await db.fetchval("SELECT count(*) FROM event_log")) >= len(events)
            except asyncpg.UndefinedTableError:
                return False

        await wait_until_async(all_in, timeout=60, interval=0.2, what=f"{len(events)} events in the log")
        assert await db.fetchval("SELECT count(*) FROM event_log") == len(events)
        await db.close()
        yield Reporting(f"http://127.0.0.1:{port}", env, database_url)
    finally:
        await bus.stop()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def pick(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    """The named columns of every row, as tuples."""
    return [tuple(r[k] for k in keys) for r in rows]


async def test_queue_summary(day: Reporting) -> None:
    rows = await day.report("queue-summary")
    keys = ("queue", "offered", "answered", "abandoned", "transferred", "waiting", "offers_to_agents", "ronas")
    assert pick(rows, *keys) == [("claims", 4, 1, 2, 1, 0, 1, 0), ("finance", 5, 4, 0, 0, 1, 5, 1)]
    waits = pick(rows, "queue", "avg_wait_seconds", "max_wait_seconds", "avg_handle_seconds")
    assert waits == [("claims", 20.0, 20.0, 1860.0), ("finance", 482.75, 1500.0, 1815.0)]
    assert {r["interval_start"] for r in rows} == {"2026-11-02T00:00:00+00:00"}


async def test_service_level_by_queue_thresholds(day: Reporting) -> None:
    rows = await day.report("service-level")
    by_queue = {r["queue"]: r for r in rows}
    assert [
        (t["seconds"], t["absolute"], t["cumulative"], t["percent"]) for t in by_queue["finance"]["thresholds"]
    ] == [
        (60, 2, 2, 50.0),
        (300, 0, 2, 50.0),
        (900, 1, 3, 75.0),
    ]
    assert [(t["seconds"], t["absolute"], t["cumulative"], t["percent"]) for t in by_queue["claims"]["thresholds"]] == [
        (30, 1, 1, 33.33),
        (120, 0, 1, 33.33),
    ]


async def test_service_level_per_hour_with_given_thresholds(day: Reporting) -> None:
    rows = await day.report("service-level", interval="hour", thresholds="45,400")
    finance = [r for r in rows if r["queue"] == "finance"]
    got = [(r["interval_start"][11:16], r["offered"], [t["cumulative"] for t in r["thresholds"]]) for r in finance]
    assert got == [("09:00", 2, [1, 2]), ("11:00", 1, [0, 0]), ("13:00", 1, [0, 1]), ("14:00", 1, [0, 0])]
    assert [t["percent"] for t in finance[-1]["thresholds"]] == [None, None], "nothing finished waiting yet"


async def test_wrap_up_codes_with_ns(day: Reporting) -> None:
    rows = await day.report("wrap-up")
    keys = ("code", "queue", "agent", "tasks", "avg_handle_seconds", "total_handle_seconds", "avg_acw_seconds")
    assert pick(rows, *keys, "total_acw_seconds") == [
        ("NS", "finance", "a1", 1, 1200.0, 1200.0, 0.0, 0.0),
        ("need_follow_up", "finance", "a2", 1, 3600.0, 3600.0, 0.0, 0.0),
        ("processed", "claims", "a3", 1, 1860.0, 1860.0, 60.0, 60.0),
        ("processed", "finance", "a1", 2, 1230.0, 2460.0, 30.0, 60.0),
    ]
    by_code = await day.report("wrap-up", group="code")
    assert pick(by_code, "code", "tasks", "avg_handle_seconds", "total_acw_seconds") == [
        ("NS", 1, 1200.0, 0.0),
        ("need_follow_up", 1, 3600.0, 0.0),
        ("processed", 3, 1440.0, 120.0),
    ]


async def test_agent_status_seconds_by_reason(day: Reporting) -> None:
    rows = await day.report("agent-status")
    assert pick(rows, "agent_id", "status", "reason", "seconds") == [
        ("a1", "not_ready", "lunch", 1800.0),
        ("a1", "ready", "", 30600.0),
        ("a2", "not_ready", "break", 900.0),
        ("a2", "not_ready", "rona", 60.0),
        ("a2", "ready", "", 27840.0),
        ("a3", "ready", "", 14400.0),
    ]


async def test_agent_stats_and_occupancy(day: Reporting) -> None:
    rows = await day.report("agent-stats")
    keys = ("agent_id", "logged_in_seconds", "ready_seconds", "not_ready_seconds", "busy_seconds")
    assert pick(rows, *keys, "tasks_handled", "handle_seconds", "occupancy_pct") == [
        ("a1", 32400.0, 30600.0, 1800.0, 3349.0, 3, 3660.0, 10.34),
        ("a2", 28800.0, 27840.0, 960.0, 3600.0, 1, 3600.0, 12.5),
        ("a3", 14400.0, 14400.0, 0.0, 1860.0, 1, 1860.0, 12.92),
    ]


async def test_tasks_by_type(day: Reporting) -> None:
    rows = await day.report("tasks")
    keys = ("type", "opened", "completed", "cancelled", "expired", "escalated", "overdue", "finished_overdue")
    assert pick(rows, *keys) == [("claim", 4, 2, 1, 1, 1, 0, 0), ("invoice", 4, 3, 0, 0, 0, 1, 1)]
    close = ("type", "avg_close_seconds", "p50_close_seconds", "p90_close_seconds", "p95_close_seconds")
    assert pick(rows, *close) == [
        ("claim", 2275.0, 2275.0, 2639.0, 2684.5),
        ("invoice", 2333.667, 1260.0, 4332.0, 4716.0),
    ]


async def test_fairness_with_spread(day: Reporting) -> None:
    rows = await day.report("fairness")
    keys = ("queue", "agent_id", "tasks", "handle_seconds", "task_share_pct")
    assert pick(rows, *keys, "queue_tasks_cv", "queue_handle_cv", "queue_tasks_range") == [
        ("claims", "a2", 0, 0.0, 0.0, 1.0, 1.0, 1),
        ("claims", "a3", 1, 1860.0, 100.0, 1.0, 1.0, 1),
        ("finance", "a1", 3, 3660.0, 75.0, 0.5, 0.008, 2),
        ("finance", "a2", 1, 3600.0, 25.0, 0.5, 0.008, 2),
    ]


async def test_queue_detail_rows(day: Reporting) -> None:
    rows = await day.report("queue-detail")
    got = pick(rows, "task_id", "queue", "outcome", "wait_seconds", "agent_id")
    assert got == [
        ("T1", "finance", "answered", 41.0, "a1"),
        ("T2", "finance", "answered", 60.0, "a1"),
        ("T3", "claims", "answered", 20.0, "a3"),
        ("T4", "claims", "abandoned", 180.0, None),
        ("T5", "finance", "answered", 1500.0, "a2"),
        ("T6", "claims", "transferred", 600.0, None),
        ("T6", "finance", "answered", 330.0, "a1"),
        ("T7", "finance", "waiting", None, None),
        ("T8", "claims", "abandoned", 3600.0, None),
    ]


async def test_csv_over_http_and_the_task_list(day: Reporting) -> None:
    async with httpx.AsyncClient(timeout=30, headers=KEY) as client:
        response = await client.get(f"{day.url}/v1/reports/service-level", params={**DAY, "format": "csv"})
        tasks = await client.get(f"{day.url}/v1/tasks", params={"open": "true"})
        bad = await client.get(f"{day.url}/v1/reports/wrap-up", params={**DAY, "group": "colour"})
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["queue"], r["t1_seconds"], r["t1_cumulative"], r["t3_percent"]) for r in table] == [
        ("claims", "30", "1", ""),
        ("finance", "60", "2", "75.0"),
    ]
    assert [(t["task_id"], t["status"], t["queue"]) for t in tasks.json()["tasks"]] == [("T7", "queued", "finance")]
    assert bad.status_code == 400
    assert "cannot be grouped by colour; it takes: code, queue, agent" in bad.json()["detail"]


async def test_the_cli_prints_the_same_figures(day: Reporting, tmp_path: Path) -> None:
    out = tmp_path / "wrap.json"
    cmd = ["report", "wrap-up", "--from", DAY["from"], "--to", DAY["to"]]
    done = await asyncio.to_thread(cli, *cmd, "--group", "code", "--format", "json", "--output", str(out), env=day.env)
    assert done.returncode == 0, done.stderr.decode()
    rows = json.loads(out.read_text())["rows"]
    assert pick(rows, "code", "tasks") == [("NS", 1), ("need_follow_up", 1), ("processed", 3)]
    refused = await asyncio.to_thread(cli, "report", "wrap-up", "--from", DAY["to"], "--to", DAY["from"], env=day.env)
    assert refused.returncode == 2
    assert b"the period is empty" in refused.stderr
