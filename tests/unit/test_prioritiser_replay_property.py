"""Property: a prioritiser killed before its commit and handed a suffix of its input again ends where
an uninterrupted one ends, and what it publishes in the replay is never older than what it had published.

The router orders a task's classifications by arrival; this is what makes arrival order correct."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.escalation import T0
from tests.support.fakes import RecordingBus
from tests.unit.conftest import CONFIG_DIR
from tests.unit.test_prioritiser import DELIVERY, captured, envelope
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.config.catalog import Catalog
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Payload
from workrouter.contracts.task_events import (
    TaskCancelled,
    TaskClassified,
    TaskEscalated,
    TaskPaused,
    TaskRescheduled,
    TaskResumed,
    TaskUpdated,
)
from workrouter.services.prioritiser.handlers import PrioritiserDeps, handle
from workrouter.services.prioritiser.poll import handle_poll
from workrouter.services.prioritiser.rules_holder import RulesHolder

ATTRS = captured().attributes
EVENTS: list[Payload] = [
    TaskUpdated(task_id="t1", changed=["title"], title="Changed", attributes=ATTRS),
    TaskUpdated(task_id="t1", changed=["attributes"], title="Gold", attributes={**ATTRS, "segment": "Gold"}),
    ReclassifyTask(task_id="t1", reason="transfer by agent sam", queue="credit"),
    ReclassifyTask(task_id="t1", reason="transfer by agent kim", queue="general"),
    ReclassifyTask(task_id="t1", reason="rules again"),
    TaskEscalated(task_id="t1", step="sla:std:100%", actions=["move_queue"], target_queue="supervisor"),
    TaskEscalated(task_id="t1", step="sla:std:50%", actions=["raise"], raise_by=100),
    TaskRescheduled(task_id="t1", wake_at=T0, by="source"),
    TaskPaused(task_id="t1", by="source"),
    TaskResumed(task_id="t1", by="timer"),
    TaskCancelled(task_id="t1", by="source", reason="done elsewhere"),
]


async def run(deps: PrioritiserDeps, inputs: list[tuple[str, Payload]]) -> list[tuple[str, str]]:
    """Handle each (event id, payload); (event id, queue) of each classification sent to a router."""
    bus = deps.bus
    assert isinstance(bus, RecordingBus)
    before = len(bus.published)
    for eid, payload in inputs:
        await handle(envelope(payload, eid), DELIVERY, deps)
    return [
        (e.id, e.data.queue)
        for t, e in bus.published[before:]
        if t == "wr.routing" and isinstance(e.data, TaskClassified)
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(0, len(EVENTS) - 1), min_size=1, max_size=12),
    data=st.data(),
)
async def test_a_replayed_suffix_ends_where_an_uninterrupted_run_ends(
    catalog: Catalog, picks: list[int], data: Any
) -> None:
    inputs: list[tuple[str, Payload]] = [("c", captured())] + [(f"e{n}", EVENTS[i]) for n, i in enumerate(picks)]
    crash_after = data.draw(st.integers(1, len(inputs)), label="handled before the kill")
    committed = data.draw(st.integers(0, crash_after - 1), label="committed before the kill")

    def fresh() -> PrioritiserDeps:
        rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
        return PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, RecordingBus())

    calm = fresh()
    expected = await run(calm, inputs)
    crashed = fresh()
    first = await run(crashed, inputs[:crash_after])
    replay = await run(crashed, inputs[committed:])  # handed everything since the last commit again
    assert await crashed.facts.get("t1") == await calm.facts.get("t1")
    if expected:  # the last word a router hears is the uninterrupted run's
        assert (first + replay)[-1] == expected[-1]
    seen = [eid for eid, _ in first]
    for eid, queue in replay:
        # a classification replayed under an id already sent must be the newest sent before the kill
        # (its redelivery), never an older one re-sent after newer ones
        assert eid not in seen or eid == seen[-1], f"stale {eid} ({queue}) re-sent after {seen}"
        seen.append(eid)


def _for(task_id: str, payload: Payload) -> Payload:
    return payload.model_copy(update={"task_id": task_id})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.tuples(st.sampled_from(["t1", "t2", "t3"]), st.integers(0, len(EVENTS) - 1)), max_size=16),
    cuts=st.lists(st.integers(1, 6), min_size=1, max_size=20),
)
async def test_a_poll_at_a_time_publishes_and_keeps_what_one_event_at_a_time_does(
    catalog: Catalog, picks: list[tuple[str, int]], cuts: list[int]
) -> None:
    """handle_poll reads the poll's facts once, writes them once and sends everything together; what it sends
    (in order) and keeps must be exactly what handling the same events one by one sends and keeps."""
    inputs = [(f"c-{t}", _for(t, captured())) for t in ("t1", "t2", "t3")]
    inputs += [(f"e{n}", _for(task, EVENTS[i])) for n, (task, i) in enumerate(picks)]

    def fresh() -> PrioritiserDeps:
        rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
        return PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, RecordingBus())

    alone, polled = fresh(), fresh()
    for eid, payload in inputs:
        await handle(envelope(payload, eid), DELIVERY, alone)
    start, sizes = 0, iter(cuts * len(inputs))
    while start < len(inputs):
        poll = inputs[start : start + next(sizes)]
        await handle_poll([(envelope(p, eid), DELIVERY) for eid, p in poll], polled)
        start += len(poll)
    sent = [(t, e.id, e.partitionkey, e.data) for t, e in alone.bus.published]  # type: ignore[attr-defined]
    assert [(t, e.id, e.partitionkey, e.data) for t, e in polled.bus.published] == sent  # type: ignore[attr-defined]
    for task in ("t1", "t2", "t3"):
        assert await polled.facts.get(task) == await alone.facts.get(task)
