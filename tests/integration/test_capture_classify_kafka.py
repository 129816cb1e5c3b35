"""1,000 tasks from three sources, half over wr.capture and half over REST, classified exactly as the rules say."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.infra import Infra
from tests.support.pipeline import Pipeline, capture_pipeline, fresh_database
from tests.support.wait import wait_until
from workrouter.contracts import commands as c
from workrouter.contracts.envelope import make_event
from workrouter.contracts.task_events import TaskCancelled, TaskClassified
from workrouter.contracts.topics import capture_key
from workrouter.domain.capture import task_id_for

KEYS = {"crm": "crm-demo-key", "bpm": "bpm-demo-key", "ticketing": "ticketing-demo-key"}


@dataclass(frozen=True)
class Case:
    """A kind of task and what the seed rules must make of it (written by hand from rules.yaml)."""

    type: str
    attributes: dict[str, Any]
    queue: str
    priority: int
    rule: str
    title: str = "Customer asks for help with an open item"


# The expectation table: independent of the evaluator, read off deploy/config/rules.yaml by a person.
CASES = [
    Case(
        "invoice_dispute", {"department": "Finance", "segment": "Gold", "amount": 900}, "finance", 750, "finance-gold"
    ),
    Case(
        "invoice_dispute",
        {"department": "Finance", "segment": "Silver", "amount": 6000},
        "finance",
        750,
        "finance-large-dispute",
    ),
    Case("invoice_dispute", {"department": "Finance", "segment": "Bronze", "amount": 120}, "finance", 500, "finance"),
    Case("credit_application", {"department": "Credit", "segment": "Gold"}, "credit", 750, "credit-gold"),
    Case("credit_application", {"department": "Credit", "segment": "Silver"}, "credit", 500, "credit-silver"),
    Case("credit_application", {"department": "Credit", "segment": "Bronze"}, "credit", 250, "credit"),
    Case("claim", {"department": "Claims", "amount": 30000, "language": "en"}, "claims", 750, "claims-large"),
    Case("claim", {"department": "Claims", "amount": 300, "language": "fr"}, "claims", 500, "claims-french"),
    Case("claim", {"department": "Claims", "amount": 300, "language": "en"}, "claims", 500, "claims"),
    Case("tech_ticket", {"department": "Technical", "severity": "critical"}, "technical", 900, "tech-critical"),
    Case("tech_ticket", {"department": "Technical", "severity": "low"}, "technical", 500, "tech"),
    Case("lead", {"department": "Sales", "segment": "Gold", "value": 2000}, "sales", 500, "sales-gold-lead"),
    Case("lead", {"department": "Sales", "segment": "Bronze", "value": 100}, "sales", 250, "sales"),
    Case("claim", {"department": "Claims", "amount": 50}, "claims", 900, "fraud-suspected", "Suspected fraud on card"),
]
FINANCE_BRONZE = CASES[2]
FINANCE_GOLD = CASES[0]
# rules.yaml sends anything from the ticketing source that no earlier rule placed to technical
# support (rule `tech` comes before the sales rules), so a lead from ticketing lands there.
TICKETING_FALLTHROUGH = {"sales-gold-lead", "sales"}


def expected(source: str, case: Case) -> tuple[str, int, str]:
    """(queue, priority, rule) the seed rules must give a task of `case` sent by `source`."""
    if source == "ticketing" and case.rule in TICKETING_FALLTHROUGH:
        return ("technical", 500, "tech")
    return (case.queue, case.priority, case.rule)


@dataclass
class Sent:
    """One generated task: who sends it, how, and what is expected."""

    source: str
    external_id: str
    case: Case
    via: str

    def body(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "type": self.case.type,
            "title": self.case.title,
            "attributes": self.case.attributes,
        }

    def command(self) -> c.CaptureTask:
        return c.CaptureTask.model_validate({**self.body(), "source": self.source})

    @property
    def task_id(self) -> str:
        return task_id_for(self.source, self.external_id)


@pytest.fixture
async def pipeline(infra: Infra) -> AsyncIterator[Pipeline]:
    async with fresh_database(infra.database_url) as url, capture_pipeline(infra.kafka_bootstrap, url) as running:
        yield running


async def send_over_topic(p: Pipeline, items: list[Sent]) -> None:
    singles, batched = items[: len(items) * 2 // 5], items[len(items) * 2 // 5 :]
    for item in singles:
        cmd = item.command()
        await p.producer.publish(
            p.topics.capture, make_event(cmd, source="/test/source", key=capture_key(item.source, item.external_id))
        )
    for start in range(0, len(batched), 50):
        chunk = batched[start : start + 50]
        batch = c.CaptureTaskBatch(items=[i.command() for i in chunk])
        await p.producer.publish(
            p.topics.capture, make_event(batch, source="/test/source", key=f"{chunk[0].source}:batch")
        )


async def send_over_rest(p: Pipeline, items: list[Sent]) -> None:
    singles, bulk = items[: len(items) // 2], items[len(items) // 2 :]
    for item in singles:
        response = await p.http.post("/v1/tasks", json=item.body(), headers={"X-API-Key": KEYS[item.source]})
        assert response.status_code == 202, response.text
        assert response.json()["task_id"] == item.task_id
    by_source: dict[str, list[Sent]] = {}
    for item in bulk:
        by_source.setdefault(item.source, []).append(item)
    for source, group in by_source.items():
        for start in range(0, len(group), 50):
            chunk = group[start : start + 50]
            response = await p.http.post(
                "/v1/tasks", json=[i.body() for i in chunk], headers={"X-API-Key": KEYS[source]}
            )
            assert response.status_code == 202, response.text


def latest_classification(p: Pipeline) -> dict[str, TaskClassified]:
    latest: dict[str, TaskClassified] = {}
    for env in p.tasks.of_type("workrouter.task.classified"):
        assert isinstance(env.data, TaskClassified)
        latest[env.data.task_id] = env.data
    return latest


def assert_cancels_reached_the_router(p: Pipeline, latest: dict[str, TaskClassified]) -> None:
    """Each cancel is on wr.routing too: the same event, keyed by the domain the task was routed to."""
    cancels = {e.id: e for e in p.tasks.of_type("workrouter.task.cancelled")}
    forwarded = p.routing.of_type("workrouter.task.cancelled")
    assert {e.id for e in forwarded} == set(cancels)
    for event in forwarded:
        assert isinstance(event.data, TaskCancelled)
        assert event.data == cancels[event.id].data
        assert event.partitionkey == latest[event.data.task_id].domain


async def test_a_thousand_tasks_are_captured_once_and_classified_as_the_rules_say(pipeline: Pipeline) -> None:
    rng = random.Random(20261123)
    sources = list(KEYS)
    sent = [
        Sent(rng.choice(sources), f"EXT-{n:05d}", rng.choice(CASES), "topic" if n % 2 else "rest") for n in range(1000)
    ]
    bronze = [s for s in sent if s.case is FINANCE_BRONZE]
    others = [s for s in sent if s.case is not FINANCE_BRONZE]
    updated, cancelled, repeated = bronze[:50], others[:30], others[30:130]
    assert len(updated) == 50

    await send_over_topic(pipeline, [s for s in sent if s.via == "topic"])
    await send_over_rest(pipeline, [s for s in sent if s.via == "rest"])
    await send_over_topic(pipeline, repeated[:50])  # identical repeats: no second task
    await send_over_rest(pipeline, repeated[50:])
    for n, item in enumerate(updated):  # Bronze -> Gold: must be re-prioritised
        attributes = {"segment": "Gold"}
        if n % 2:
            response = await pipeline.http.patch(
                f"/v1/tasks/{item.external_id}",
                json={"attributes": attributes},
                headers={"X-API-Key": KEYS[item.source]},
            )
            assert response.status_code == 202
        else:
            cmd = c.UpdateTask(source=item.source, external_id=item.external_id, attributes=attributes)
            await pipeline.producer.publish(
                pipeline.topics.capture, make_event(cmd, source="/test", key=capture_key(item.source, item.external_id))
            )
    for item in cancelled:
        response = await pipeline.http.post(
            f"/v1/tasks/{item.external_id}/cancel",
            json={"reason": "duplicate case"},
            headers={"X-API-Key": KEYS[item.source]},
        )
        assert response.status_code == 202

    def settled() -> bool:
        t = pipeline.tasks
        return (
            len(t.of_type("workrouter.task.classified")) >= 1050
            and len(t.of_type("workrouter.task.cancelled")) >= 30
            and len(pipeline.routing.of_type("workrouter.task.classified")) >= 1050
            and len(pipeline.routing.of_type("workrouter.task.cancelled")) >= 30
        )

    try:
        await wait_until(settled, timeout=180, what="1,000 captures, 50 updates and 30 cancels to be processed")
    except AssertionError as exc:
        kinds = ("captured", "classified", "updated", "cancelled", "rejected")
        seen = {kind: len(pipeline.tasks.of_type(f"workrouter.task.{kind}")) for kind in kinds}
        counts = f"seen {seen}, routed {len(pipeline.routing.events)}, dead {len(pipeline.dead.events)}"
        raise AssertionError(f"{exc}; {counts}") from None

    captured = pipeline.tasks.of_type("workrouter.task.captured")
    assert len(captured) == 1000
    assert pipeline.tasks.task_ids("workrouter.task.captured") == {s.task_id for s in sent}
    assert len(pipeline.tasks.of_type("workrouter.task.updated")) == 50
    assert len(pipeline.tasks.of_type("workrouter.task.classified")) == 1050
    assert pipeline.tasks.of_type("workrouter.task.rejected") == []
    assert pipeline.dead.events == []

    latest = latest_classification(pipeline)
    wrong = []
    for item in sent:
        want = expected(item.source, FINANCE_GOLD if item in updated else item.case)
        got = latest[item.task_id]
        if (got.queue, got.priority, got.rule) != want:
            wrong.append((item.external_id, item.case.rule, (got.queue, got.priority, got.rule)))
        assert got.ruleset_version == "2026-11-23.1"
    assert wrong == [], f"{len(wrong)} misclassified, e.g. {wrong[:5]}"
    assert pipeline.tasks.task_ids("workrouter.task.cancelled") == {s.task_id for s in cancelled}
    routed = {e.partitionkey for e in pipeline.routing.events}
    assert routed == {"backoffice", "support", "sales"}
    assert_cancels_reached_the_router(pipeline, latest)
