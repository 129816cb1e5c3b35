"""`workrouter up` killed with kill -9 in the middle of a burst of work loses none of the work it answered 202 for.

The process runs as a user runs it (embedded PostgreSQL and Redis under a temporary data folder); a
few hundred tasks are posted at once, the process is killed once half of them have been accepted,
and started again on the same folder: every accepted task must then be in reporting's task list.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.embedded_up import Up, up_in
from tests.support.wait import wait_until_async

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
TASKS = 400
KILL_AFTER = 200
AT_ONCE = 32


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with up_in(tmp_path) as process:
        yield process


async def burst(up: Up, http: httpx.AsyncClient) -> tuple[set[str], int]:
    """Post TASKS tasks, AT_ONCE at a time; kill -9 the process once KILL_AFTER were accepted.

    Returns the task ids answered 202 and how many posts got no answer (the kill cut them off)."""
    accepted: set[str] = set()
    cut = 0
    killed = asyncio.Event()
    gate = asyncio.Semaphore(AT_ONCE)

    async def post(i: int) -> None:
        nonlocal cut
        body: dict[str, Any] = {"external_id": f"crash-{i}-{uuid.uuid4().hex[:8]}", "type": "invoice_dispute"}
        body.update(title=f"burst {i}", attributes={"department": "Finance", "segment": "Gold"})
        async with gate:
            if killed.is_set():
                return
            try:
                answer = await http.post(f"{up.api}/v1/tasks", json=body, headers=up.source("crm"))
            except httpx.TransportError:
                cut += 1
                return
        assert answer.status_code == 202, answer.text
        accepted.add(answer.json()["task_id"])
        if len(accepted) == KILL_AFTER and not killed.is_set():
            killed.set()
            await asyncio.to_thread(up.kill)

    await asyncio.gather(*(post(i) for i in range(TASKS)))
    return accepted, cut


async def listed(up: Up, http: httpx.AsyncClient) -> set[str]:
    """Task ids in reporting's task list (every state)."""
    answer = await http.get(f"{up.reports}/v1/tasks", params={"limit": "1000"}, headers=up.supervisor)
    assert answer.status_code == 200, answer.text
    return {row["task_id"] for row in answer.json()["tasks"]}


async def test_kill_9_mid_burst_loses_no_accepted_task(up: Up) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        up.start()
        await up.wait_healthy(http)
        began = time.monotonic()
        accepted, cut = await burst(up, http)
        burst_seconds = time.monotonic() - began
        assert up.proc is not None
        assert up.proc.returncode == -9, "the process must have been killed, not stopped"
        assert len(accepted) >= KILL_AFTER

        up.start()  # the same data folder
        began = time.monotonic()
        await up.wait_healthy(http)
        replayed = re.findall(r"bus journal: (\d+) records to deliver again", up.text())
        missing: set[str] = set()

        async def all_listed() -> bool:
            nonlocal missing
            missing = accepted - await listed(up, http)
            return not missing

        try:
            await wait_until_async(all_listed, timeout=90, interval=0.5, what="every accepted task in the task list")
        except AssertionError:
            lost = f"{len(missing)} of {len(accepted)} accepted tasks lost: {sorted(missing)[:10]}"
            raise AssertionError(lost) from None
        print(
            f"\nkill -9 after {len(accepted)} tasks accepted in {burst_seconds:.1f} s ({cut} posts cut off); "
            f"restart replayed {replayed or ['nothing']} records; all {len(accepted)} listed "
            f"{time.monotonic() - began:.1f} s after the restart"
        )
        assert replayed, "the kill must have left work on the bus, or this test proves nothing"
        assert up.stop() == 0, up.text()
        assert not list((up.data / "bus").glob("*.journal")), "a clean stop drains the bus and empties its journal"
