"""Escalation folds a poll of events in one go: the records and timers equal those of one event at a time,
whatever the interleaving of the tasks' events and however the stream is cut into polls (property)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.escalation import T0, captured, classified, rules
from tests.support.fakes import RecordingBus
from workrouter.adapters.memory_escalation_store import MemoryEscalationStore
from workrouter.bus.port import Delivery
from workrouter.contracts import task_events as te
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.services.escalation.handlers import EscalationDeps, handle, handle_batch

H = timedelta(hours=1)
RULES = rules(
    {
        "policies": [
            {
                "name": "std",
                "applies_to": {"queues": ["finance"]},
                "steps": [
                    {"at": "50%", "actions": ["alert"], "level": "info"},
                    {"at": "100%", "actions": ["move_queue"], "queue": "supervisor"},
                ],
            }
        ],
        "reprioritise": [
            {
                "name": "due",
                "applies_to": {"queues": ["finance"]},
                "steps": [{"before_due": "1d", "raise_by": 50}, {"before_due": "4h", "raise_by": 100}],
            }
        ],
    }
)
FAR = T0 + 1000 * H
DELIVERY = Delivery("wr.tasks", 0, 0, None, 1)


def life(task_id: str, ending: str) -> list[Payload]:
    """A task captured with an SLA and a due date, queued, then taken on, moved, or ended."""
    queued = te.TaskQueued(task_id=task_id, queue="finance", domain="backoffice", priority=400, sort_key="k")
    steps: list[Payload] = [
        captured(task_id, due_at=T0 + 30 * H, expires_at=T0 + 90 * H),
        classified(task_id, sla_seconds=10 * 3600),
        queued,
    ]
    if ending == "accepted":
        steps.append(te.TaskAccepted(task_id=task_id, agent_id="a", how="offer", queue="finance"))
    elif ending == "rescheduled":
        steps.append(te.TaskRescheduled(task_id=task_id, wake_at=T0 + 5 * H))
    elif ending == "completed":
        steps += [
            te.TaskAccepted(task_id=task_id, agent_id="a", how="offer"),
            te.TaskCompleted(task_id=task_id, by="agent"),
        ]
    return steps


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Envelope], list[int]]:
    """Several tasks' events interleaved (each task's in order), and where the stream is cut into polls."""
    endings = draw(
        st.lists(st.sampled_from(["queued", "accepted", "rescheduled", "completed"]), min_size=1, max_size=5)
    )
    lives = [
        [make_event(p, source="/t", key=f"t{i}", time=T0) for p in life(f"t{i}", e)] for i, e in enumerate(endings)
    ]
    stream: list[Envelope] = []
    while any(lives):
        pick = draw(st.sampled_from([i for i, rest in enumerate(lives) if rest]))
        stream.append(lives[pick].pop(0))
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=4))))
    return stream, cuts


async def state(store: MemoryEscalationStore) -> tuple[dict[str, Any], list[tuple[str, str, str, datetime]]]:
    """Every record, and every pending timer (fired far in the future, so all are due)."""
    async with store.firing(FAR, 10_000) as timers:
        due = sorted((t.task_id, t.kind, t.ident, t.due_at) for t in timers)
    return dict(store.records), due


async def one_at_a_time(stream: list[Envelope]) -> MemoryEscalationStore:
    store = MemoryEscalationStore()
    deps = EscalationDeps(store, RULES, RecordingBus())
    for envelope in stream:
        await handle(envelope, DELIVERY, deps)
    return store


async def in_polls(stream: list[Envelope], cuts: list[int]) -> tuple[MemoryEscalationStore, list[datetime]]:
    store = MemoryEscalationStore()
    poked: list[datetime] = []
    deps = EscalationDeps(store, RULES, RecordingBus(), poke=poked.append)
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        await handle_batch([(e, DELIVERY) for e in stream[start:end]], deps)
    return store, poked


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(streams())
def test_a_poll_at_once_leaves_what_one_event_at_a_time_leaves(drawn: tuple[list[Envelope], list[int]]) -> None:
    stream, cuts = drawn

    async def run() -> None:
        single = await one_at_a_time(stream)
        batched, poked = await in_polls(stream, cuts)
        records, timers = await state(batched)  # (fires them: read once)
        assert (records, timers) == await state(single)
        assert not timers or min(poked) <= min(t[3] for t in timers)  # the timer loop heard of the earliest

    asyncio.run(run())


def test_a_poll_of_commands_alone_changes_nothing() -> None:
    store = MemoryEscalationStore()
    again = make_event(
        ReclassifyTask(task_id="t1", reason="transfer by agent a", queue="general"), source="/t", key="t1"
    )

    async def run() -> None:
        await handle_batch([], EscalationDeps(store, RULES, RecordingBus()))
        await handle_batch([(again, DELIVERY)], EscalationDeps(store, RULES, RecordingBus()))
        assert store.records == {}

    asyncio.run(run())
