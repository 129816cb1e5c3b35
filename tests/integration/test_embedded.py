"""The one-process mode as a user runs it: `workrouter up` and `workrouter demo` as real processes,
with their embedded PostgreSQL and Redis (real servers from the wheels) under a temporary data folder."""

from __future__ import annotations

import re
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
from tests.support.wait import wait_until_async

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
ALICE = {"Authorization": "Bearer alice-demo-token"}
CRM = {"X-API-Key": "crm-demo-key"}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with up_in(tmp_path) as process:
        yield process


@dataclass
class Desk:
    """Alice's desktop and the CRM, talking to one `workrouter up`."""

    up: Up
    http: httpx.AsyncClient

    async def capture(self, title: str) -> None:
        body: dict[str, Any] = {"external_id": f"emb-{uuid.uuid4().hex[:10]}", "type": "invoice_dispute"}
        body.update(title=title, attributes={"department": "Finance", "segment": "Gold"})
        answer = await self.http.post(f"{self.up.api}/v1/tasks", json=body, headers=CRM)
        assert answer.status_code == 202, answer.text

    async def holds(self) -> list[dict[str, Any]]:
        me = await self.http.get(f"{self.up.api}/v1/agent/me", headers=ALICE)
        assert me.status_code == 200, me.text
        result: list[dict[str, Any]] = me.json()["holds"]
        return result

    async def presence(self, state: str, reason: str | None = None) -> None:
        body = {"presence": state, **({"reason": reason} if reason else {})}
        answer = await self.http.post(f"{self.up.api}/v1/agent/presence", json=body, headers=ALICE)
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
        accepted = await self.http.post(f"{self.up.api}/v1/agent/offers/{task_id}/accept", json=body, headers=ALICE)
        assert accepted.status_code == 202, accepted.text
        await wait_until_async(lambda: self._has("assigned", task_id), timeout=30, interval=0.2, what="the assignment")
        body = {"wrap_up_code": "processed"}
        done = await self.http.post(f"{self.up.api}/v1/agent/tasks/{task_id}/complete", json=body, headers=ALICE)
        assert done.status_code == 202, done.text
        return task_id

    async def _has(self, state: str, task_id: str | None = None) -> bool:
        return await self.holding(state, task_id) is not None

    async def task_rows(self, **query: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self.up.reports}/v1/tasks", params=query)
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
        report = await http.get(f"{up.reports}/v1/reports/wrap-up", params={**period, "group": "code"})
        assert report.status_code == 200, report.text
        assert {(r["code"], r["tasks"]) for r in report.json()["rows"]} == {("processed", 2)}
        assert up.stop() == 0, up.text()


def test_demo_routes_work_within_a_minute_and_ends_with_a_report(up: Up) -> None:
    began = time.monotonic()
    up.start("demo", "--seconds", "45", "--rate", "2", "--seed", "11")
    assert up.proc is not None
    assert up.proc.wait(timeout=300) == 0, up.text()
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
