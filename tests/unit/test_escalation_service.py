"""The escalation service with the prioritiser, in memory, on a hand-set clock: what a supervisor would see."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.fakes import RecordingBus
from tests.unit.conftest import CONFIG_DIR
from workrouter.adapters.memory_escalation_store import MemoryEscalationStore
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.bus.port import Delivery
from workrouter.config.calendars import load_calendars
from workrouter.config.catalog import Catalog
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.domain.escalation.calendars import CalendarBook
from workrouter.domain.escalation.plan import Rules
from workrouter.domain.escalation.policy import EscalationFile
from workrouter.services.escalation import handlers as esc
from workrouter.services.escalation.service import load_rules
from workrouter.services.escalation.timer_loop import TimerLoop
from workrouter.services.prioritiser import handlers as pri
from workrouter.services.prioritiser.rules_holder import RulesHolder

H = timedelta(hours=1)
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DELIVERY = Delivery("wr.tasks", 0, 0, "t1", 1)


class Pipeline:
    """Escalation and prioritiser sharing one recorded `wr.tasks`; every event is stamped with the test's clock."""

    def __init__(self, catalog: Catalog, rules: Rules, now: datetime) -> None:
        self.now = now
        self.bus = RecordingBus()
        self.store = MemoryEscalationStore()
        self.esc = esc.EscalationDeps(self.store, rules, self.bus)
        holder = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
        self.pri = pri.PrioritiserDeps(MemoryTaskFactsStore(), catalog, holder, self.bus)
        self.loop = TimerLoop(self.store, functools.partial(esc.fire_batch, deps=self.esc), clock=lambda: self.now)
        self.delivered = 0
        self.seen: list[Envelope] = []

    async def pump(self) -> None:
        """Deliver every event published on wr.tasks since the last pump to both services, in order."""
        while self.delivered < len(self.bus.published):
            topic, envelope = self.bus.published[self.delivered]
            self.delivered += 1
            if topic != "wr.tasks":
                continue
            stamped = envelope.model_copy(update={"time": self.now})
            self.seen.append(stamped)
            await esc.handle(stamped, DELIVERY, self.esc)
            await pri.handle(stamped, DELIVERY, self.pri)

    async def send(self, payload: Payload) -> None:
        """A source or the router publishes an event now."""
        await self.bus.publish("wr.tasks", make_event(payload, source="/test", key=payload.task_id))  # type: ignore[attr-defined]
        await self.pump()

    async def at(self, when: datetime) -> list[Payload]:
        """Move the clock, fire what is due, let the services react; what was published meanwhile."""
        before = len(self.seen)
        self.now = when
        await self.loop.run_once()
        await self.pump()
        return [e.data for e in self.seen[before:]]


def summary(events: list[Payload]) -> list[str]:
    out = []
    for e in events:
        if isinstance(e, te.TaskEscalated):
            out.append(f"escalated {e.step} {'+'.join(e.actions)}")
        elif isinstance(e, te.TaskClassified):
            out.append(f"classified {e.queue} p{e.priority}")
        else:
            out.append(e.event_type.rsplit(".", 1)[-1])
    return out


def capture(**over: Any) -> te.TaskCaptured:
    fields: dict[str, Any] = {
        "task_id": "t1",
        "source": "crm",
        "external_id": "X1",
        "type": "invoice_dispute",
        "title": "Wrong invoice",
        "attributes": {"department": "Finance", "segment": "Bronze", "amount": 10},
    }
    return te.TaskCaptured(**(fields | over))


@pytest.fixture
def own_rules() -> Rules:
    doc = {
        "policies": [
            {
                "name": "std",
                "applies_to": {"queues": ["finance"]},
                "steps": [
                    {"at": "50%", "actions": ["alert"], "level": "info"},
                    {"at": "100%", "actions": ["move_queue", "alert"], "queue": "supervisor"},
                ],
            }
        ]
    }
    return Rules(EscalationFile.model_validate(doc), CalendarBook(load_calendars(CONFIG_DIR)))


async def test_an_sla_ladder_then_expiry_through_the_prioritiser(catalog: Catalog, own_rules: Rules) -> None:
    p = Pipeline(catalog, own_rules, MONDAY)
    await p.send(capture(sla_seconds=10 * 3600, expires_at=MONDAY + 30 * H))
    assert await p.at(MONDAY + 5 * H - timedelta(seconds=1)) == []
    assert summary(await p.at(MONDAY + 5 * H)) == ["escalated sla:std:50% alert"]
    moved = summary(await p.at(MONDAY + 10 * H))
    assert moved[0] == "escalated sla:std:100% move_queue+alert"
    assert moved[1].startswith("classified supervisor")
    assert summary(await p.at(MONDAY + 29 * H)) == []  # moved once: escalate_again is false
    assert summary(await p.at(MONDAY + 30 * H)) == ["expired"]
    counts = await p.store.counts()
    assert counts.pending == 0


async def test_seed_ola_counts_business_hours_across_a_weekend(catalog: Catalog) -> None:
    friday_3pm_berlin = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    p = Pipeline(catalog, load_rules(CONFIG_DIR), friday_3pm_berlin)
    attrs = {"department": "Technical", "severity": "low"}
    await p.send(capture(type="tech_ticket", title="Printer", attributes=attrs))
    # office-de: Fri 15-16 (1 h), Mon 08-18 (10 h), Tue 08-09 (1 h) -> Tue 09:00 Berlin = 08:00 UTC
    due = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert [s for s in summary(await p.at(due - timedelta(seconds=1))) if s.startswith("escalated ola")] == []
    fired = summary(await p.at(due))  # the due-date steps of the seed fire too: keep to the OLA
    assert "escalated ola:technical@2026-11-27T14:00:00+00:00 move_queue+alert" in fired
    assert [s for s in fired if s.startswith("classified")][-1].startswith("classified experts")


async def test_a_rescheduled_task_wakes_and_is_classified_again(catalog: Catalog, own_rules: Rules) -> None:
    p = Pipeline(catalog, own_rules, MONDAY)
    await p.send(capture())
    await p.send(te.TaskRescheduled(task_id="t1", wake_at=MONDAY + 3 * H, by="agent"))
    assert await p.at(MONDAY + 3 * H - timedelta(seconds=1)) == []
    woke = summary(await p.at(MONDAY + 3 * H))
    assert woke[0] == "resumed"
    assert woke[1].startswith("classified finance")


async def test_redelivery_changes_nothing_and_a_refire_repeats_the_event_id(catalog: Catalog, own_rules: Rules) -> None:
    p = Pipeline(catalog, own_rules, MONDAY)
    await p.send(capture(sla_seconds=3600))
    before = (await p.store.load(["t1"]), await p.store.counts())
    for envelope in list(p.seen):
        await esc.handle(envelope, DELIVERY, p.esc)
    assert (await p.store.load(["t1"]), await p.store.counts()) == before
    async with p.store.firing(MONDAY + H, 10) as due:  # fire, then "crash" before the block ends
        await esc.fire_batch(due, p.esc)
        first = p.bus.published[-1][1].id
        raise_inside = True
    assert raise_inside
    p.now = MONDAY + H
    await p.loop.run_once()
    assert p.bus.published[-1][1].id == first  # the same timer, published again under the same id
