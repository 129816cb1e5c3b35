"""The one-process mode as a user runs it: `workrouter up` and `workrouter demo` as real processes,
with their embedded PostgreSQL and Redis (real servers from the wheels) under a temporary data folder."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.embedded_up import Up, up_in
from tests.support.infra import ROOT
from tests.support.wait import wait_until_async

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with up_in(tmp_path) as process:
        yield process


@dataclass
class Desk:
    """Alice's desktop and the CRM, talking to one `workrouter up`."""

    up: Up
    http: httpx.AsyncClient

    @property
    def alice(self) -> dict[str, str]:
        return self.up.agent("alice")

    async def capture(self, title: str) -> None:
        body: dict[str, Any] = {"external_id": f"emb-{uuid.uuid4().hex[:10]}", "type": "invoice_dispute"}
        body.update(title=title, attributes={"department": "Finance", "segment": "Gold"})
        answer = await self.http.post(f"{self.up.api}/v1/tasks", json=body, headers=self.up.source("crm"))
        assert answer.status_code == 202, answer.text

    async def holds(self) -> list[dict[str, Any]]:
        me = await self.http.get(f"{self.up.api}/v1/agent/me", headers=self.alice)
        assert me.status_code == 200, me.text
        result: list[dict[str, Any]] = me.json()["holds"]
        return result

    async def presence(self, state: str, reason: str | None = None) -> None:
        body = {"presence": state, **({"reason": reason} if reason else {})}
        answer = await self.http.post(f"{self.up.api}/v1/agent/presence", json=body, headers=self.alice)
        assert answer.status_code == 200, answer.text

    async def holding(self, state: str, task_id: str | None = None) -> dict[str, Any] | None:
        """Alice's first hold in `state` (of `task_id` if given)."""
        found = (h for h in await self.holds() if h["state"] == state and task_id in (None, h["task_id"]))
        return next(found, None)

    async def work_one_offer(self) -> str:
        """Alice accepts the offer she gets and completes the task with a wrap-up code; its task id."""
        await wait_until_async(lambda: self._has("offered"), timeout=60, interval=0.2, what="an offer to alice")
        offer = await self.holding("offered")
        assert offer is not None
        task_id = str(offer["task_id"])
        body = {"offer_id": offer["offer_id"]}
        accepted = await self.http.post(
            f"{self.up.api}/v1/agent/offers/{task_id}/accept", json=body, headers=self.up.agent("alice")
        )
        assert accepted.status_code == 202, accepted.text
        await wait_until_async(lambda: self._has("assigned", task_id), timeout=30, interval=0.2, what="the assignment")
        body = {"wrap_up_code": "processed"}
        done = await self.http.post(
            f"{self.up.api}/v1/agent/tasks/{task_id}/complete", json=body, headers=self.up.agent("alice")
        )
        assert done.status_code == 202, done.text
        return task_id

    async def _has(self, state: str, task_id: str | None = None) -> bool:
        return await self.holding(state, task_id) is not None

    async def task_rows(self, **query: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self.up.reports}/v1/tasks", params=query, headers=self.up.supervisor)
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()["tasks"]
        return rows


async def test_up_routes_work_and_keeps_it_across_a_restart(up: Up) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    async with httpx.AsyncClient(timeout=30) as http:
        desk = Desk(up, http)
        up.start()
        await up.wait_healthy(http)
        await desk.presence("ready")
        await desk.capture("first")
        first = await desk.work_one_offer()
        await desk.presence("not_ready", "lunch")
        await desk.capture("waits over the restart")

        async def one_queued() -> bool:
            return len(await desk.task_rows(open="true", queue="finance")) == 1

        await wait_until_async(one_queued, timeout=60, what="the second task queued")
        metrics = (await http.get(f"http://127.0.0.1:{up.ports['metrics']}/metrics")).text
        assert re.search(r'workrouter_tasks_waiting\{[^}]*queue="finance"[^}]*\} 1\.0', metrics), metrics[:3000]
        assert 'workrouter_service_info{service="embedded"' in metrics
        assert up.stop() == 0, up.text()

        up.start()  # the same data folder: PostgreSQL and Redis come back with everything in them
        await up.wait_healthy(http)
        assert [r["status"] for r in await desk.task_rows(queue="finance", open="true")] == ["queued"]
        await desk.presence("ready")
        second = await desk.work_one_offer()
        assert second != first

        async def both_closed() -> bool:
            rows = {r["task_id"]: r for r in await desk.task_rows(queue="finance")}
            return all(rows.get(t, {}).get("status") == "completed" for t in (first, second))

        await wait_until_async(both_closed, timeout=60, what="both tasks completed in the event log")
        period = {"from": started.isoformat(), "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
        report = await http.get(
            f"{up.reports}/v1/reports/wrap-up", params={**period, "group": "code"}, headers=up.supervisor
        )
        assert report.status_code == 200, report.text
        assert {(r["code"], r["tasks"]) for r in report.json()["rows"]} == {("processed", 2)}
        assert up.stop() == 0, up.text()


def test_up_refuses_the_shipped_example_credentials(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "workrouter.cli", "up", "--data", str(tmp_path / "data")]
    shipped = ROOT / "deploy" / "config"
    done = subprocess.run(
        [*command, "--config", str(shipped)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing to start with credentials published in the workrouter repository" in done.stderr
    assert "sources.yaml: crm.api_key_sha256 is the hash of 'crm-demo-key'" in done.stderr
    assert "agents.yaml: sam.token_sha256 is the hash of 'sam-demo-token'" in done.stderr
    assert "workrouter credentials new" in done.stderr
    assert not (tmp_path / "data" / "postgres").exists()  # refused before anything started


async def test_demo_routes_work_within_a_minute_and_ends_with_a_report(up: Up) -> None:
    began = time.monotonic()
    up.start("demo", "--seconds", "45", "--rate", "2", "--seed", "11")
    assert up.proc is not None
    async with httpx.AsyncClient(timeout=30) as http:
        await up.wait_healthy(http)
        printed = re.search(r"source crm\s+X-API-Key: (\S+)", up.text())
        assert printed is not None, up.text()
        assert printed.group(1) not in up.text()[printed.end() :], "printed once"
        body: dict[str, Any] = {"external_id": f"by-hand-{uuid.uuid4().hex[:8]}", "type": "invoice_dispute"}
        body["title"] = "by hand"
        body["attributes"] = {"department": "Finance", "segment": "Gold"}
        answer = await http.post(f"{up.api}/v1/tasks", json=body, headers={"X-API-Key": printed.group(1)})
        assert answer.status_code == 202, answer.text
        shipped = await http.post(f"{up.api}/v1/tasks", json=body, headers={"X-API-Key": "crm-demo-key"})
        assert shipped.status_code == 401, shipped.text
    assert await asyncio.to_thread(up.proc.wait, 300) == 0, up.text()
    text = up.text()
    progress = [(int(t), int(a)) for t, a in re.findall(r"t\+\s*(\d+)s .*? assigned (\d+),", text)]
    assert progress, text[-3000:]
    first = next((t for t, assigned in progress if assigned > 0), None)
    print(f"demo: first assignment by t+{first}s; whole run {time.monotonic() - began:.0f} s")
    assert first is not None, progress
    assert first <= 60, progress
    assert "Queues (queue-summary report, from the event log)" in text, text[-3000:]
    completed = re.search(r"agents: completed\s*│\s*(\d+)", text)
    assert completed is not None, text[-3000:]
    assert int(completed.group(1)) > 0, text[-3000:]
