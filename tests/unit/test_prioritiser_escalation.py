"""The prioritiser acts on escalation and due-date steps, keeps them across source updates, and never
routes a task that sleeps or ended."""

from __future__ import annotations

import pytest

from tests.support.escalation import T0
from tests.support.fakes import RecordingBus
from tests.unit.conftest import CONFIG_DIR
from tests.unit.test_prioritiser import DELIVERY, captured, envelope
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.config.catalog import Catalog
from workrouter.contracts.agent_commands import SupervisorAssign
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Payload
from workrouter.contracts.task_events import (
    TaskCancelled,
    TaskClassified,
    TaskEscalated,
    TaskReprioritised,
    TaskRescheduled,
    TaskResumed,
    TaskUpdated,
)
from workrouter.services.prioritiser import overrides
from workrouter.services.prioritiser.handlers import PrioritiserDeps, handle
from workrouter.services.prioritiser.rules_holder import RulesHolder


@pytest.fixture
def deps(catalog: Catalog) -> PrioritiserDeps:
    rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
    return PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, RecordingBus())


async def send(deps: PrioritiserDeps, payload: Payload, event_id: str | None = None) -> list[Payload]:
    """Handle one event; what it published (payloads, in order)."""
    bus = deps.bus
    assert isinstance(bus, RecordingBus)
    before = len(bus.published)
    await handle(envelope(payload, event_id), DELIVERY, deps)
    return [e.data for _, e in bus.published[before:]]


def last_classified(out: list[Payload]) -> TaskClassified:
    found = [p for p in out if isinstance(p, TaskClassified)]
    assert found, f"nothing classified in {out}"
    return found[-1]


async def test_a_raise_adds_to_the_rules_priority_once_and_survives_an_update(deps: PrioritiserDeps) -> None:
    base = last_classified(await send(deps, captured())).priority
    step = TaskReprioritised(task_id="t1", priority=base + 50, reason="due within 1d", raise_by=50, step="rp:1d")
    assert last_classified(await send(deps, step, "s1")).priority == base + 50
    assert last_classified(await send(deps, step, "s1")).priority == base + 50  # redelivered: not twice
    update = TaskUpdated(task_id="t1", changed=["title"], title="New title", attributes=captured().attributes)
    assert last_classified(await send(deps, update)).priority == base + 50


async def test_an_escalation_move_outlives_updates_until_a_person_chooses_again(deps: PrioritiserDeps) -> None:
    await send(deps, captured())
    move = TaskEscalated(task_id="t1", step="sla:std:100%", actions=["move_queue", "alert"], target_queue="supervisor")
    moved = last_classified(await send(deps, move))
    assert (moved.queue, moved.rule) == ("supervisor", "chosen:escalation sla:std:100%")
    update = TaskUpdated(task_id="t1", changed=["title"], title="Again", attributes=captured().attributes)
    assert last_classified(await send(deps, update)).queue == "supervisor"
    transfer = ReclassifyTask(task_id="t1", reason="transfer by agent sam", queue="credit")
    assert last_classified(await send(deps, transfer)).queue == "credit"
    assert last_classified(await send(deps, update)).queue == "credit"
    assert last_classified(await send(deps, ReclassifyTask(task_id="t1", reason="rules again"))).queue == "finance"


async def test_a_park_step_is_sent_to_the_router_after_the_classification(deps: PrioritiserDeps) -> None:
    await send(deps, captured())
    park = TaskEscalated(task_id="t1", step="sla:claims:100%", actions=["park", "alert"], workbin="sam")
    out = await send(deps, park)
    assert isinstance(out[-1], SupervisorAssign)
    assert (out[-1].action, out[-1].agent_id, out[-1].domain) == ("park", "sam", "backoffice")
    assert out[-1].supervisor == "escalation sla:claims:100%"
    assert isinstance(out[0], TaskClassified)


async def test_a_sleeping_task_keeps_changes_and_is_routed_only_when_it_wakes(deps: PrioritiserDeps) -> None:
    await send(deps, captured())
    await send(deps, TaskRescheduled(task_id="t1", wake_at=T0))
    update = TaskUpdated(task_id="t1", changed=["priority"], title="Invoice", priority=900)
    assert await send(deps, update) == []
    assert await send(deps, TaskReprioritised(task_id="t1", priority=0, reason="r", raise_by=10, step="s")) == []
    woke = last_classified(await send(deps, TaskResumed(task_id="t1", by="timer", wake_at=T0)))
    assert woke.priority == 910


@pytest.mark.parametrize(
    "late",
    [
        TaskEscalated(task_id="t1", step="s", actions=["move_queue"], target_queue="supervisor"),
        TaskResumed(task_id="t1", by="timer"),
        ReclassifyTask(task_id="t1", reason="transfer", queue="credit"),
    ],
)
async def test_nothing_late_brings_an_ended_task_back(deps: PrioritiserDeps, late: Payload) -> None:
    await send(deps, captured())
    await send(deps, TaskCancelled(task_id="t1", by="source", reason="gone"))
    assert await send(deps, late) == []


async def test_a_crash_replay_skips_what_later_events_superseded(deps: PrioritiserDeps) -> None:
    """Killed before its commit, the prioritiser is handed every event again on facts that hold them all:
    re-applying the transfer after the reclassification that followed it would move the task back to
    credit under the transfer's old id (the e2e stall of 2026-12-07). Only the last one is handled again."""
    await send(deps, captured(), "c1")
    transfer = ReclassifyTask(task_id="t1", reason="transfer by agent sam", queue="credit")
    assert last_classified(await send(deps, transfer, "x1")).queue == "credit"
    again = ReclassifyTask(task_id="t1", reason="rules again")
    assert last_classified(await send(deps, again, "r1")).queue == "finance"
    assert await send(deps, captured(), "c1") == []  # the replay: capture, transfer, then the last one
    assert await send(deps, transfer, "x1") == []
    replayed = last_classified(await send(deps, again, "r1"))
    assert replayed.queue == "finance"
    assert (
        last_classified(
            await send(
                deps, TaskUpdated(task_id="t1", changed=["title"], title="T", attributes=captured().attributes), "u1"
            )
        ).queue
        == "finance"
    )


async def test_a_replayed_pause_does_not_put_a_resumed_task_back_to_sleep(deps: PrioritiserDeps) -> None:
    """A pause redelivered after the resume that followed it would withdraw the task from its router, and
    the resume's classification (same id, already retired there) would then be ignored: lost."""
    await send(deps, captured(), "c1")
    pause = TaskRescheduled(task_id="t1", wake_at=T0, by="source")
    await send(deps, pause, "p1")
    resumed = last_classified(await send(deps, TaskResumed(task_id="t1", by="timer"), "w1"))
    assert await send(deps, pause, "p1") == []
    assert last_classified(await send(deps, TaskResumed(task_id="t1", by="timer"), "w1")) == resumed


async def test_a_replayed_escalation_move_does_not_undo_a_later_person_s_choice(deps: PrioritiserDeps) -> None:
    await send(deps, captured(), "c1")
    move = TaskEscalated(task_id="t1", step="sla:std:100%", actions=["move_queue"], target_queue="supervisor")
    assert last_classified(await send(deps, move, "e1")).queue == "supervisor"
    back = ReclassifyTask(task_id="t1", reason="supervisor sent it back", queue="credit")
    assert last_classified(await send(deps, back, "b1")).queue == "credit"
    assert await send(deps, move, "e1") == []
    queues = [p.queue for p in await send(deps, back, "b1") if isinstance(p, TaskClassified)]
    assert queues
    assert set(queues) == {"credit"}


async def test_the_applied_ids_are_bounded(deps: PrioritiserDeps) -> None:
    await send(deps, captured(), "c1")
    for n in range(overrides.KEEP_APPLIED + 10):
        await send(
            deps, TaskUpdated(task_id="t1", changed=["title"], title=f"T{n}", attributes=captured().attributes), f"u{n}"
        )
    stored = await deps.facts.get("t1")
    assert stored is not None
    ids = stored[0][overrides.APPLIED]
    assert len(ids) == overrides.KEEP_APPLIED
    assert ids[-1] == f"u{overrides.KEEP_APPLIED + 9}"
