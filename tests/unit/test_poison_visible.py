"""Supervisors and sources see a held task: the reporting row, the source's error_held callback, the router told."""

from __future__ import annotations

import json

from tests.support.fakes import RecordingBus
from tests.support.notifier import T0, captured
from tests.unit.conftest import CONFIG_DIR
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.bus.port import Delivery
from workrouter.config.catalog import Catalog
from workrouter.config.sources import SourceSystem
from workrouter.contracts import task_events as te
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Payload, make_event
from workrouter.domain.notify.callback import decide
from workrouter.domain.reporting.task_row import fold
from workrouter.services.prioritiser.handlers import PrioritiserDeps, handle
from workrouter.services.prioritiser.rules_holder import RulesHolder

POISON = te.TaskErrorHeld(
    task_id="t1",
    reason="wr-escalation could not process workrouter.task.updated from wr.tasks: boom",
    ruleset_version="v1",
    service="wr-escalation",
    dead_letter_id="dl:wr-escalation:wr.tasks:4:12",
    failed_topic="wr.tasks",
    failed_type="workrouter.task.updated",
    error_type="RuntimeError",
)
OFFERED = te.TaskOffered(
    task_id="t1", offer_id="o", agent_id="alice", queue="claims", tier=0, offer_expires_at="2026-12-01T10:00:00Z"
)


def test_an_offered_task_held_by_poison_is_error_held_without_an_agent_in_the_report() -> None:
    row = None
    for data in (captured("t1"), OFFERED, POISON):
        row = fold(row, make_event(data, source="/t", key="t1"))
    assert row is not None
    assert (row.status, row.agent_id, row.closed) == ("error_held", None, False)


def test_a_source_that_subscribes_to_error_held_is_called_back_with_the_service_and_reason() -> None:
    subs = {"crm": frozenset({"completed", "error_held"})}
    view = None
    for data in (captured("t1"), OFFERED):
        view = decide(view, data.event_type, data, "e", make_event(data, source="/t", key="t1").time, subs=subs).view
    decision = decide(
        view, POISON.event_type, POISON, "held-1", make_event(POISON, source="/t", key="t").time, subs=subs
    )
    assert decision.callback is not None
    body = json.loads(decision.callback.body)
    assert (body["id"], body["event"], body["task"]["status"]) == ("held-1", "error_held", "error_held")
    assert body["details"]["service"] == "wr-escalation"
    assert body["details"]["dead_letter_id"] == "dl:wr-escalation:wr.tasks:4:12"
    assert "boom" in body["details"]["reason"]
    quiet = decide(view, POISON.event_type, POISON, "held-1", T0, subs={"crm": frozenset({"completed"})})
    assert quiet.callback is None  # only sources that subscribe to it


def test_sources_may_subscribe_to_error_held() -> None:
    source = SourceSystem(
        name="crm",
        api_key_sha256="0" * 64,
        callback_url="https://crm.example/cb",
        callback_secret_env="WR_CALLBACK_SECRET_CRM",
        callback_events=["error_held"],
    )
    assert source.callback_events == ["error_held"]


async def test_a_rule_hold_of_a_routed_task_is_forwarded_to_its_router(catalog: Catalog) -> None:
    bus = RecordingBus()
    rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
    deps = PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, bus)
    first = te.TaskCaptured(
        task_id="t1",
        source="crm",
        external_id="X",
        type="invoice_dispute",
        title="t",
        attributes={"department": "Finance", "segment": "Gold", "amount": 10},
    )
    delivery = Delivery("wr.tasks", 0, 0, "t1", 1)

    async def send(data: Payload, eid: str) -> None:
        await handle(make_event(data, source="/t", key="t1", subject="t1", event_id=eid), delivery, deps)

    await send(first, "c1")
    await send(ReclassifyTask(task_id="t1", reason="to a queue nobody configured", queue="nowhere"), "r1")
    (held,) = [(t, e) for t, e in bus.published if e.type == te.TaskErrorHeld.event_type and t == "wr.routing"]
    assert held[1].partitionkey == catalog.queues["finance"].domain
    assert held[1].id == [e for t, e in bus.published if t == "wr.tasks"][-1].id
