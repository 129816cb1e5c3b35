"""Every PromQL query of every Grafana panel, run against a real Prometheus scraping the real services.

capture, prioritiser, router, escalation and api run as processes on real Kafka, Redis and
PostgreSQL, each with a metrics port; a simulated agent works (and once ignores) offers, another is
at lunch, credit tasks wait until their SLA steps fire, and one malformed message is dead-lettered,
so every metric has series. The local Prometheus (deploy/local/prometheus.sh) scrapes them every
second; then each panel's expression (Grafana variables expanded) must succeed and return series.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support import prometheus
from tests.support.credentials import credentialed_config
from tests.support.infra import Infra
from tests.support.router_world import World
from tests.support.wait import wait_until_async
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import Envelope
from workrouter.domain.routing.model import Presence
from workrouter.grafana.generate import expand_promql, label_values_as_promql, queries

pytestmark = pytest.mark.timeout(300)
DOMAIN = "backoffice"
METRIC = re.compile(r"\bworkrouter_[a-z0-9_]+")
CRM_KEY: list[str] = []  # the CRM's fresh key, once config_dir made it


def config_dir(folder: Path) -> Path:
    """The seed configuration with fresh credentials (the services refuse the shipped ones; the CRM's key is
    in CRM_KEY) and finance offers timing out after 3 s (so a RONA comes quickly)."""
    CRM_KEY.clear()
    CRM_KEY.append(credentialed_config(folder).source_keys["crm"])
    path = folder / "queues.yaml"
    doc = yaml.safe_load(path.read_text())
    for queue in doc["queues"]:
        if queue["name"] == "finance":
            queue["offer_timeout_seconds"] = "3s"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


class Alice:
    """Ignores her first offer (a RONA), accepts the rest, finishes each at once, comes back after a RONA."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.ignored = False
        self.tasks: set[asyncio.Task[None]] = set()
        world.listener = self.react

    def react(self, envelope: Envelope) -> None:
        data: Any = envelope.data
        kind = envelope.type.rsplit(".", 1)[-1]
        if getattr(data, "agent_id", None) != "alice":
            return
        if kind == "offered" and not self.ignored:
            self.ignored = True
        elif kind == "offered":
            answer = ac.AnswerOffer(
                agent_id="alice", domain=DOMAIN, task_id=data.task_id, offer_id=data.offer_id, accept=True
            )
            self._spawn(self.world.send(answer))
        elif kind == "accepted":
            done = ac.FinishTask(agent_id="alice", domain=DOMAIN, task_id=data.task_id, wrap_up_code="processed")
            self._spawn(self.world.send(done))
        elif kind == "presence_changed" and data.reason == "rona":
            self._spawn(self.world.ready("alice"))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


@pytest.fixture
async def world(infra: Infra, fresh_database: str, tmp_path: Path) -> AsyncIterator[World]:
    w = World(infra, config_dir(tmp_path / "config"), tmp_path)
    await w.open()
    try:
        yield w
    finally:
        await w.close()


async def get(http: httpx.AsyncClient, url: str) -> httpx.Response | None:
    try:
        return await http.get(url)
    except httpx.TransportError:
        return None


async def test_every_promql_panel_query_returns_series(world: World, fresh_database: str) -> None:
    base_url = prometheus.start()
    targets = prometheus.Targets()
    ports = {name: prometheus.free_port() for name in ("capture", "prioritiser", "router", "escalation", "api")}
    db = {"WR_DATABASE_URL": fresh_database}
    g = world.group
    world.start_service("capture", "capture", WR_CAPTURE_GROUP=f"cap-{g}", WR_METRICS_PORT=str(ports["capture"]), **db)
    world.start_service(
        "prioritiser", "prioritiser", WR_PRIORITISER_GROUP=f"prio-{g}", **db, WR_METRICS_PORT=str(ports["prioritiser"])
    )
    world.start_service("router", "router", WR_ROUTER_GROUP=g, WR_METRICS_PORT=str(ports["router"]))
    world.start_service(
        "escalation",
        "escalation",
        WR_ESCALATION_GROUP=f"esc-{g}",
        WR_METRICS_PORT=str(ports["escalation"]),
        WR_SLA_RISK_REFRESH_SECONDS="1",
        **db,
    )
    world.start_service("api", "api", WR_HTTP_PORT=str(ports["api"]))
    alice = Alice(world)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for name, port in ports.items():
                url = f"http://127.0.0.1:{port}/metrics"

                async def answers(url: str = url) -> bool:
                    response = await get(http, url)
                    return response is not None and response.status_code == 200

                await wait_until_async(answers, timeout=60, interval=0.2, what=f"{name} serving /metrics")
                targets.add(name, f"127.0.0.1:{port}")
            await drive(world, http, ports["api"])
            await wait_for_series(http, base_url, targets.run)
            failures = await run_every_query(http, base_url)
        assert failures == [], "\n".join(failures)
    finally:
        targets.remove()
        for task in list(alice.tasks):
            task.cancel()


async def drive(world: World, http: httpx.AsyncClient, api_port: int) -> None:
    """Agents in, tasks through the api, one malformed capture message."""
    assert world.store is not None
    assert world.bus is not None
    await world.store.set_presence("bruno", Presence.NOT_READY, "lunch", time.time())
    await world.send(ac.ChangePresence(agent_id="bruno", domain=DOMAIN, presence="not_ready", reason="lunch"))
    await world.ready("alice")
    headers = {"X-API-Key": CRM_KEY[0]}
    tasks = [("Finance", "Bronze", 600)] * 3 + [("Credit", "Gold", 4)] * 2  # nobody serves credit: its SLA runs out
    for i, (department, segment, sla) in enumerate(tasks):
        body = {
            "external_id": f"grafana-{uuid.uuid4().hex}",
            "type": "invoice_dispute",
            "title": f"dispute {i}",
            "attributes": {"department": department, "segment": segment},
            "sla_seconds": sla,
        }
        response = await http.post(f"http://127.0.0.1:{api_port}/v1/tasks", json=body, headers=headers)
        assert response.status_code == 202, response.text
    await world.bus.publish_raw(world.topics.capture, "broken", b"{this is not an event")


async def wait_for_series(http: httpx.AsyncClient, base_url: str, run: str) -> None:
    """Until every metric the dashboards read has a series scraped from this test's processes."""
    names = sorted({name for q in queries() if q.datasource == "prometheus" for name in _metrics(q.text)})
    missing: list[str] = list(names)

    async def all_there() -> bool:
        for name in list(missing):
            status, result = await prometheus.query(http, base_url, f'group({name}{{run="{run}"}})')
            if status == "success" and result:
                missing.remove(name)
        return not missing

    try:
        await wait_until_async(all_there, timeout=120, interval=1.0, what="series of every dashboard metric")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still missing: {missing}") from None


def _metrics(expr: str) -> set[str]:
    return set(METRIC.findall(expr))


async def run_every_query(http: httpx.AsyncClient, base_url: str) -> list[str]:
    """Each panel and variable query: an error or an empty result is a failure (rates need two samples:
    each query is retried until a deadline before it counts as empty)."""
    failures: list[str] = []
    listed = list(queries())
    assert listed, "no dashboard queries"
    for q in listed:
        if q.datasource != "prometheus":
            continue  # SQL panels are run by their own test, on PostgreSQL
        text = label_values_as_promql(q.text) if q.panel.startswith("$") else q.text
        expr = expand_promql(text, __rate_interval="30s")
        outcome: tuple[str, Any] = ("error", "not run")

        async def ok(expr: str = expr) -> bool:
            nonlocal outcome
            outcome = await prometheus.query(http, base_url, expr)
            return outcome[0] == "success" and bool(outcome[1])

        try:
            await wait_until_async(ok, timeout=30, interval=1.0, what=expr)
        except AssertionError:
            status, result = outcome
            why = result if status == "error" else "no series"
            failures.append(f"{q.dashboard} / {q.panel} [{q.ref}]: {why}\n    {expr}")
    return failures
