"""Escalation with the prioritiser and the router, each its own process on real Kafka, Redis and PostgreSQL,
with the seed configuration: a missed SLA moves a task to the team lead's queue, where Sam gets it; a
rescheduled task wakes up and is routed again; an expired one is withdrawn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.credentials import credentialed_config
from tests.support.infra import ROOT, Infra
from tests.support.router_world import World
from tests.support.wait import wait_until, wait_until_async
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import make_event

SEED = ROOT / "deploy" / "config"
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def world(infra: Infra, fresh_database: str, tmp_path: Path) -> AsyncIterator[World]:
    """Router, prioritiser and escalation on the seed config; the escalation with a database of its own."""
    credentialed_config(tmp_path / "config", SEED)  # the services refuse the seed's example credentials
    w = World(infra, tmp_path / "config", tmp_path)
    await w.open()
    w.start_router("router")
    w.start_service("prioritiser", "prioritiser", WR_PRIORITISER_GROUP=f"prio-{w.group}")
    w.start_service("escalation", "escalation", WR_ESCALATION_GROUP=f"esc-{w.group}", WR_DATABASE_URL=fresh_database)
    try:
        yield w
    finally:
        await w.close()


def invoice(task_id: str, **fields: object) -> te.TaskCaptured:
    return te.TaskCaptured(
        task_id=task_id,
        source="crm",
        external_id=task_id,
        type="invoice_dispute",
        title="Wrong invoice",
        attributes={"department": "Finance", "segment": "Bronze", "amount": 10},
        **fields,
    )


async def capture(world: World, payload: te.TaskCaptured) -> None:
    assert world.bus is not None
    await world.bus.publish(world.topics.tasks, make_event(payload, source="/test", key=payload.task_id))


def of_task(world: World, kind: str, task_id: str) -> list[te.TaskEvent]:
    return [e for e in world.of(kind) if e.task_id == task_id]


def times(world: World, kind: str, task_id: str) -> list[datetime]:
    """When each event of a kind was published for the task."""
    return [e.time for e in list(world.events) if e.type.endswith("." + kind) and e.data.task_id == task_id]  # type: ignore[attr-defined]


async def test_a_missed_sla_moves_the_task_to_the_team_lead_who_gets_it(world: World) -> None:
    await world.ready("sam")  # nobody in finance is logged in; Sam works the supervisor queue
    task = str(uuid.uuid4())
    await capture(world, invoice(task, sla_seconds=6))
    await wait_until(lambda: len(of_task(world, "escalated", task)) == 3, timeout=90, what="three SLA steps")
    steps = of_task(world, "escalated", task)
    assert [s.step for s in steps] == ["sla:backoffice:50%", "sla:backoffice:80%", "sla:backoffice:100%"]  # type: ignore[attr-defined]
    assert steps[2].target_queue == "supervisor"  # type: ignore[attr-defined]
    await wait_until(lambda: bool(of_task(world, "offered", task)), timeout=60, what="an offer to Sam")
    offer = of_task(world, "offered", task)[0]
    assert (offer.agent_id, offer.queue) == ("sam", "supervisor")  # type: ignore[attr-defined]
    priorities = [c.priority for c in of_task(world, "classified", task)]  # type: ignore[attr-defined]
    assert priorities[-1] == priorities[0] + 150  # the 80 % step's raise, kept when the task moved
    first = times(world, "escalated", task)[0]
    captured_at = times(world, "captured", task)[0]  # the SLA counts from capture
    assert first - captured_at >= timedelta(seconds=3)  # 50 % of 6 s, never early


async def test_a_rescheduled_task_wakes_and_an_expired_one_is_withdrawn(world: World) -> None:
    sleeper, expiring = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    await capture(world, invoice(sleeper))
    await capture(world, invoice(expiring, expires_at=now + timedelta(seconds=8)))
    await wait_until(lambda: bool(of_task(world, "queued", sleeper)), timeout=60, what="the task queued")
    assert world.bus is not None
    wake = datetime.now(UTC) + timedelta(seconds=4)
    later = te.TaskRescheduled(task_id=sleeper, wake_at=wake, by="source")
    await world.bus.publish(world.topics.tasks, make_event(later, source="/test", key=sleeper))
    await wait_until(lambda: bool(of_task(world, "resumed", sleeper)), timeout=60, what="the wake-up")
    assert times(world, "resumed", sleeper)[0] >= wake
    await wait_until(lambda: len(of_task(world, "queued", sleeper)) == 2, timeout=60, what="queued again")
    await wait_until(lambda: bool(of_task(world, "expired", expiring)), timeout=60, what="the expiry")
    assert of_task(world, "expired", expiring)[0].expired_at == now + timedelta(seconds=8)  # type: ignore[attr-defined]
    store = world.store
    assert store is not None

    async def withdrawn() -> bool:
        return await store.get_task("backoffice", expiring) is None

    await wait_until_async(withdrawn, timeout=30, what="the router withdrew the expired task")
    assert await store.get_task("backoffice", sleeper) is not None  # the woken one waits again
