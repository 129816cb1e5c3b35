"""The prioritiser: decisions, held tasks, overrides, reclassification, hot reload of the rule set."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.fakes import RecordingBus
from tests.unit.conftest import CONFIG_DIR
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.bus.port import Delivery, PermanentError
from workrouter.config.catalog import Catalog
from workrouter.contracts.commands import OverrideTask, ReclassifyTask
from workrouter.contracts.common import SkillRequirement
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.contracts.task_events import (
    TaskCancelled,
    TaskCaptured,
    TaskClassified,
    TaskCompleted,
    TaskErrorHeld,
    TaskExpired,
    TaskParked,
    TaskPaused,
    TaskRescheduled,
    TaskUpdated,
)
from workrouter.services.prioritiser.decide import RULE_FACTS, decide
from workrouter.services.prioritiser.handlers import ROUTING_DOMAIN, PrioritiserDeps, handle
from workrouter.services.prioritiser.rules_holder import RulesHolder

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DELIVERY = Delivery("wr.tasks", 0, 0, "t1", 1)
DOMAINS = {"finance": "backoffice", "credit": "backoffice", "general": "backoffice", "claims": "backoffice"}


@pytest.fixture
def rules(catalog: Catalog) -> RulesHolder:
    return RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))


def facts(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"source": "crm", "type": "invoice_dispute", "title": "Wrong invoice", "channel": "workitem"}
    base |= {"attributes": {"department": "Finance", "segment": "Gold", "amount": 10}, "priority": None}
    return base | over


def test_finance_gold_is_high_with_times_from_capture(rules: RulesHolder) -> None:
    out = decide("t1", facts(), AT, ruleset=rules.current, base=None, domains=DOMAINS)
    assert isinstance(out, TaskClassified)
    assert (out.queue, out.domain, out.priority, out.rule) == ("finance", "backoffice", 750, "finance-gold")
    assert out.skills == [SkillRequirement(skill="finance", min_level=50)]
    assert out.due_at == AT + timedelta(days=2)
    assert out.expires_at == AT + timedelta(days=14)
    assert out.sla_seconds == 4 * 3600
    assert out.ruleset_version == rules.current.version


def test_source_overrides_win_over_rules(rules: RulesHolder) -> None:
    due = AT + timedelta(hours=3)
    out = decide(
        "t1", facts(priority=42, due_at=due.isoformat()), AT, ruleset=rules.current, base=None, domains=DOMAINS
    )
    assert isinstance(out, TaskClassified)
    assert (out.priority, out.due_at) == (42, due)


def test_a_queue_no_one_configured_holds_the_task_with_the_reason(rules: RulesHolder) -> None:
    out = decide("t1", facts(), AT, ruleset=rules.current, base=None, domains={"general": "backoffice"})
    assert isinstance(out, TaskErrorHeld)
    assert "queue 'finance' (from rule 'finance-gold') is not configured" in out.reason


def test_an_agent_can_send_a_task_to_another_queue(rules: RulesHolder) -> None:
    forced = ReclassifyTask(task_id="t1", reason="wrong-department", queue="credit")
    out = decide("t1", facts(), AT, ruleset=rules.current, base=None, domains=DOMAINS, forced=forced)
    assert isinstance(out, TaskClassified)
    assert (out.queue, out.rule) == ("credit", "reclassify:wrong-department")


def envelope(payload: Payload, event_id: str | None = None) -> Envelope:
    return make_event(payload, source="/test", key="t1", time=AT, event_id=event_id)


def captured(requested_agent: str | None = None, **attributes: Any) -> TaskCaptured:
    attrs = {"department": "Finance", "segment": "Bronze", "amount": 10} | attributes
    return TaskCaptured(
        task_id="t1",
        source="crm",
        external_id="X",
        type="invoice_dispute",
        title="Invoice",
        attributes=attrs,
        requested_agent=requested_agent,
    )


async def test_capture_is_classified_onto_tasks_and_routing(catalog: Catalog, rules: RulesHolder) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    assert bus.types() == ["workrouter.task.classified", "workrouter.task.classified"]
    (tasks_topic, on_tasks), (routing_topic, on_routing) = bus.published
    assert (tasks_topic, on_tasks.partitionkey) == ("wr.tasks", "t1")
    assert (routing_topic, on_routing.partitionkey) == ("wr.routing", "backoffice")
    assert on_tasks.id == on_routing.id
    assert isinstance(on_tasks.data, TaskClassified)
    assert on_tasks.data.priority == 500


async def test_an_update_is_re_prioritised(catalog: Catalog, rules: RulesHolder) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    attrs = {"department": "Finance", "segment": "Gold", "amount": 10}
    update = TaskUpdated(task_id="t1", changed=["attributes"], title="Invoice", attributes=attrs)
    await handle(envelope(update), DELIVERY, deps)
    last = bus.published[-1][1].data
    assert isinstance(last, TaskClassified)
    assert (last.priority, last.rule) == (750, "finance-gold")


async def test_redelivery_gives_the_same_event_id_and_other_events_are_ignored(
    catalog: Catalog, rules: RulesHolder
) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    event = envelope(captured())
    await handle(event, DELIVERY, deps)
    await handle(event, DELIVERY, deps)
    assert bus.published[0][1].id == bus.published[2][1].id
    await handle(envelope(TaskParked(task_id="t1", workbin="finance")), DELIVERY, deps)
    assert len(bus.published) == 4


async def test_reclassifying_an_unknown_task_is_refused(catalog: Catalog, rules: RulesHolder) -> None:
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, RecordingBus())
    with pytest.raises(PermanentError, match="never captured"):
        await handle(envelope(ReclassifyTask(task_id="t1", reason="x")), DELIVERY, deps)


def test_a_bad_rule_file_is_refused_and_the_old_set_stays(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "rules.yaml"
    shutil.copy(CONFIG_DIR / "rules.yaml", path)
    holder = RulesHolder(path, known_queues=frozenset(catalog.queues))
    before = holder.current
    path.write_text(path.read_text().replace("priority: high", "priority: hihg", 1))
    error = holder.reload()
    assert error is not None
    assert "set.priority" in error
    assert "hihg" in error
    assert holder.current is before
    path.write_text(
        path.read_text().replace("priority: hihg", "priority: high").replace("2026-11-23.1", "2026-11-24.1")
    )
    assert holder.reload() is None
    assert holder.current.version == "2026-11-24.1"


def test_a_rule_naming_an_unknown_queue_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text((CONFIG_DIR / "rules.yaml").read_text().replace("queue: finance", "queue: finanse", 1))
    with pytest.raises(ValueError, match=r"rule 'finance-gold' \(#\d+\): set\.queue: unknown queue 'finanse'"):
        RulesHolder(path, known_queues=frozenset(catalog.queues))


async def test_a_held_task_is_released_by_reclassify_after_the_rules_are_fixed(
    tmp_path: Path, catalog: Catalog
) -> None:
    """queues.yaml lost the finance queue while a rule still names it: held; fix the rule, reclassify."""
    path = tmp_path / "rules.yaml"
    shutil.copy(CONFIG_DIR / "rules.yaml", path)
    holder = RulesHolder(path, known_queues=frozenset(catalog.queues))
    without_finance = Catalog(
        catalog.sources, catalog.worktypes, {k: v for k, v in catalog.queues.items() if k != "finance"}
    )
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), without_finance, holder, bus)
    await handle(envelope(captured(segment="Gold")), DELIVERY, deps)
    held = bus.published[-1][1].data
    assert isinstance(held, TaskErrorHeld)
    assert "'finance'" in held.reason

    path.write_text(path.read_text().replace("queue: finance", "queue: general").replace("2026-11-23.1", "fix.2"))
    assert holder.reload() is None
    await handle(envelope(ReclassifyTask(task_id="t1", reason="rules fixed"), event_id="release-1"), DELIVERY, deps)
    released = bus.published[-1][1].data
    assert isinstance(released, TaskClassified)
    assert (released.queue, released.ruleset_version) == ("general", "fix.2")


async def test_a_classified_task_s_domain_is_kept_out_of_the_rules_sight(catalog: Catalog, rules: RulesHolder) -> None:
    store = MemoryTaskFactsStore()
    deps = PrioritiserDeps(store, catalog, rules, RecordingBus())
    await handle(envelope(captured()), DELIVERY, deps)
    stored = await store.get("t1")
    assert stored is not None
    assert stored[0][ROUTING_DOMAIN] == "backoffice"
    assert ROUTING_DOMAIN not in RULE_FACTS
    without = {name: value for name, value in stored[0].items() if name != ROUTING_DOMAIN}
    with_it = decide("t1", stored[0], AT, ruleset=rules.current, base=None, domains=DOMAINS)
    assert with_it == decide("t1", without, AT, ruleset=rules.current, base=None, domains=DOMAINS)


WITHDRAWN: list[Payload] = [
    TaskCancelled(task_id="t1", by="source", reason="customer withdrew"),
    TaskCancelled(task_id="t1", by="supervisor", reason="duplicate"),
    TaskCompleted(task_id="t1", by="source"),
    TaskCompleted(task_id="t1", by="supervisor"),
    TaskPaused(task_id="t1", by="source", reason="waiting for the customer"),
    TaskRescheduled(task_id="t1", wake_at=AT + timedelta(days=1), by="source"),
    TaskRescheduled(task_id="t1", wake_at=AT + timedelta(days=1), by="supervisor"),
    TaskExpired(task_id="t1", expired_at=AT),
]


@pytest.mark.parametrize("withdrawal", WITHDRAWN, ids=lambda p: f"{p.event_type}-by-{getattr(p, 'by', '')}")
async def test_a_withdrawal_of_a_routed_task_is_forwarded_to_its_domain_as_the_same_event(
    catalog: Catalog, rules: RulesHolder, withdrawal: Payload
) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    event = envelope(withdrawal)
    await handle(event, DELIVERY, deps)
    await handle(event, DELIVERY, deps)  # redelivered: forwarded again as the same event
    first, second = bus.published[-2:]
    assert first == second
    topic, forwarded = first
    assert (topic, forwarded.partitionkey) == ("wr.routing", "backoffice")
    assert forwarded == event.model_copy(update={"partitionkey": "backoffice"})
    assert len(bus.published) == 4


@pytest.mark.parametrize(
    "outcome",
    [
        TaskCompleted(task_id="t1", by="agent", agent_id="a1", wrap_up_code="resolved"),
        TaskRescheduled(task_id="t1", wake_at=AT + timedelta(hours=2), by="agent"),
    ],
    ids=lambda p: p.event_type,
)
async def test_what_the_router_itself_reported_is_not_sent_back_to_it(
    catalog: Catalog, rules: RulesHolder, outcome: Payload
) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    await handle(envelope(outcome), DELIVERY, deps)
    assert len(bus.published) == 2


async def test_a_withdrawal_of_a_task_never_routed_is_ignored_quietly(
    catalog: Catalog, rules: RulesHolder, caplog: pytest.LogCaptureFixture
) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    with caplog.at_level(logging.DEBUG, logger="workrouter.services.prioritiser.handlers"):
        await handle(envelope(TaskCancelled(task_id="t1", by="source", reason="x")), DELIVERY, deps)
    assert bus.published == []
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "never routed" in caplog.records[0].getMessage()


async def test_a_held_task_that_was_never_routed_is_not_forwarded(catalog: Catalog, rules: RulesHolder) -> None:
    without_finance = Catalog(
        catalog.sources, catalog.worktypes, {k: v for k, v in catalog.queues.items() if k != "finance"}
    )
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), without_finance, rules, bus)
    await handle(envelope(captured(segment="Gold")), DELIVERY, deps)
    assert bus.types() == ["workrouter.task.error_held"]
    await handle(envelope(TaskExpired(task_id="t1", expired_at=AT)), DELIVERY, deps)
    assert bus.types() == ["workrouter.task.error_held"]


async def test_a_withdrawal_follows_the_task_to_the_domain_it_was_reclassified_to(
    catalog: Catalog, rules: RulesHolder
) -> None:
    assert catalog.queues["technical"].domain == "support"
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    moved = ReclassifyTask(task_id="t1", reason="it-issue", queue="technical")
    await handle(envelope(moved, event_id="move-1"), DELIVERY, deps)
    await handle(envelope(TaskCancelled(task_id="t1", by="source", reason="x")), DELIVERY, deps)
    topic, forwarded = bus.published[-1]
    assert (topic, forwarded.type, forwarded.partitionkey) == ("wr.routing", "workrouter.task.cancelled", "support")


async def test_a_task_classified_into_another_domain_is_announced_to_the_old_one_too(
    catalog: Catalog, rules: RulesHolder
) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    first = [e.partitionkey for t, e in bus.published if t == "wr.routing"]
    assert first == ["backoffice"]
    await handle(envelope(ReclassifyTask(task_id="t1", reason="it-issue", queue="technical")), DELIVERY, deps)
    routed = [(e.partitionkey, e.data.domain) for t, e in bus.published if t == "wr.routing"][1:]  # type: ignore[attr-defined]
    assert routed == [("support", "support"), ("backoffice", "support")]  # the old domain learns it left


@pytest.mark.parametrize(("requested", "preferred"), [("agent-7", ["agent-7"]), (None, [])])
async def test_the_requested_agent_becomes_the_preferred_one(
    catalog: Catalog, rules: RulesHolder, requested: str | None, preferred: list[str]
) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured(requested_agent=requested)), DELIVERY, deps)
    for _, classified in bus.published:
        assert isinstance(classified.data, TaskClassified)
        assert classified.data.preferred_agents == preferred


async def test_a_supervisors_override_sets_priority_sla_and_due_and_null_gives_them_back_to_the_rules(
    catalog: Catalog, rules: RulesHolder
) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    first = bus.published[-1][1].data
    assert isinstance(first, TaskClassified)
    due = AT + timedelta(hours=1)
    over = OverrideTask(task_id="t1", reason="VIP", by="sam", priority=990, sla_seconds=600, due_at=due)
    await handle(envelope(over), DELIVERY, deps)
    changed = bus.published[-1][1].data
    assert isinstance(changed, TaskClassified)
    assert (changed.priority, changed.sla_seconds, changed.due_at, changed.queue) == (990, 600, due, first.queue)
    back = OverrideTask(task_id="t1", reason="back to normal", by="sam", cleared=["priority", "due_at"])
    await handle(envelope(back), DELIVERY, deps)
    again = bus.published[-1][1].data
    assert isinstance(again, TaskClassified)
    assert (again.priority, again.sla_seconds) == (first.priority, 600)  # the SLA override stays
    assert again.due_at == first.due_at  # from the rules again (their due time comes before the SLA's)


async def test_an_override_of_a_completed_task_classifies_nothing(catalog: Catalog, rules: RulesHolder) -> None:
    bus = RecordingBus()
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    await handle(envelope(captured()), DELIVERY, deps)
    await handle(envelope(TaskCompleted(task_id="t1", by="source")), DELIVERY, deps)
    published = len(bus.published)
    await handle(envelope(OverrideTask(task_id="t1", reason="late", by="sam", priority=10)), DELIVERY, deps)
    assert len(bus.published) == published
