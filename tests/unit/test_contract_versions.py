"""Payload versions: upcasters are declared beside the fields they upgrade (`Payload.upcasters`), the registry
refuses a chain it cannot follow, an old event still reaches today's consumer as today's model, and one
newer than the code is refused with "upgrade the consumer" (decisions D3)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import pytest

from tests.support.fakes import RecordingBus
from tests.support.wait import wait_until
from tests.unit.conftest import CONFIG_DIR
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.bus.port import Delivery
from workrouter.config.catalog import Catalog
from workrouter.contracts import codec
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, Payload, Upcaster, make_event
from workrouter.contracts.registry import REGISTRY, PayloadRegistry
from workrouter.contracts.task_events import TaskCaptured, TaskClassified
from workrouter.contracts.topics import TopicNames
from workrouter.services.prioritiser.handlers import PrioritiserDeps
from workrouter.services.prioritiser.rules_holder import RulesHolder
from workrouter.services.prioritiser.service import subscribe

RECLASSIFY = ReclassifyTask.event_type
# A transfer to `credit` as a router of before 2026-12-07 wrote it: ReclassifyTask v1, which had no `by`.
V1 = (
    b'{"specversion":"1.0","id":"old-router-1","type":"workrouter.command.reclassify_task",'
    b'"source":"/workrouter/router","subject":"t1","time":"2026-12-01T09:00:00Z",'
    b'"datacontenttype":"application/json",'
    b'"dataschema":"urn:workrouter:schema:workrouter.command.reclassify_task:1","dataversion":1,'
    b'"partitionkey":"t1","data":{"task_id":"t1","reason":"wrong-department","queue":"credit","skills":null}}'
)
# The same from a producer one version ahead of this code.
V3 = (
    V1.replace(b"old-router-1", b"new-router-1")
    .replace(b"reclassify_task:1", b"reclassify_task:3")
    .replace(b'"dataversion":1', b'"dataversion":3')
    .replace(b'"skills":null}', b'"skills":null,"by":"emma","urgent":true}')
)
TOPICS = TopicNames()


def _step(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data)


def test_the_registry_collects_the_upcasters_declared_beside_the_fields() -> None:
    assert ReclassifyTask.version == 2
    assert set(ReclassifyTask.upcasters) == {1}
    old = {"task_id": "t1", "reason": "fixed", "queue": None, "skills": None}
    assert REGISTRY.upcast(RECLASSIFY, 1, old) == old


def test_a_payload_with_no_upcaster_from_an_older_version_is_refused_when_the_registry_is_built() -> None:
    class NoChain(Payload):
        event_type = "workrouter.test.no_chain"
        version = 2

    class Gap(Payload):
        event_type = "workrouter.test.gap"
        version = 4
        upcasters: ClassVar[Mapping[int, Upcaster]] = {1: _step, 3: _step}

    with pytest.raises(ValueError, match=r"workrouter.test.no_chain is v2 but declares no upcaster from v1"):
        PayloadRegistry([NoChain])
    with pytest.raises(ValueError, match=r"workrouter.test.gap is v4 but declares no upcaster from v2: "):
        PayloadRegistry([Gap])


@pytest.mark.parametrize("from_version", [0, 2, 3])
def test_an_upcaster_from_the_current_version_or_outside_the_chain_is_refused(from_version: int) -> None:
    class Beyond(Payload):
        event_type = "workrouter.test.beyond"
        version = 2
        upcasters: ClassVar[Mapping[int, Upcaster]] = {1: _step, from_version: _step}

    with pytest.raises(ValueError, match=rf"workrouter.test.beyond: cannot upcast from v{from_version} \(current v2\)"):
        PayloadRegistry([Beyond])


def test_an_inherited_payload_at_a_new_version_needs_its_own_chain() -> None:
    class ReclassifyV3(ReclassifyTask):
        version = 3  # inherits {1: dict}, but nothing says how v2 data becomes v3

    with pytest.raises(ValueError, match="is v3 but declares no upcaster from v2"):
        PayloadRegistry([ReclassifyV3])


class Observed:
    """A subscriber that keeps what it was handed."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def __call__(self, envelope: Envelope, _: Delivery) -> None:
        self.envelopes.append(envelope)


@pytest.fixture
async def consumers(catalog: Catalog) -> AsyncIterator[tuple[MemoryBus, RecordingBus, Observed, Observed]]:
    """The prioritiser as it runs today (its batch subscription to wr.tasks, only the types it takes), an
    observer of the reclassifications it is handed, and one of wr.deadletter; what it publishes is recorded."""
    bus, published = MemoryBus(), RecordingBus()
    rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
    subscribe(bus, PrioritiserDeps(MemoryTaskFactsStore(), catalog, rules, published), "wr-prioritiser")
    reclassifications, dead = Observed(), Observed()
    bus.subscribe(TOPICS.tasks, "observer", reclassifications, types={RECLASSIFY})
    bus.subscribe(TOPICS.deadletter, "dead", dead)
    await bus.start()
    captured = TaskCaptured(
        task_id="t1", source="crm", external_id="X", type="invoice_dispute", title="Invoice",
        attributes={"department": "Finance", "segment": "Bronze", "amount": 10},
    )  # fmt: skip
    await bus.publish(TOPICS.tasks, make_event(captured, source="/workrouter/capture", key="t1", subject="t1"))
    try:
        yield bus, published, reclassifications, dead
    finally:
        await bus.stop()


def classified(published: RecordingBus) -> list[TaskClassified]:
    return [e.data for t, e in published.published if t == TOPICS.tasks and isinstance(e.data, TaskClassified)]


@pytest.mark.parametrize("header", [RECLASSIFY, None], ids=["with-ce_type", "raw"])
async def test_an_old_producers_event_reaches_todays_consumer_as_todays_model(
    consumers: tuple[MemoryBus, RecordingBus, Observed, Observed], header: str | None
) -> None:
    bus, published, reclassifications, dead = consumers
    await bus.publish_raw(TOPICS.tasks, "t1", V1, event_type=header)
    await wait_until(lambda: len(classified(published)) == 2, timeout=5, what="the reclassification")
    await wait_until(lambda: len(reclassifications.envelopes) == 1, timeout=5, what="the observer")
    (read,) = reclassifications.envelopes
    assert isinstance(read.data, ReclassifyTask)
    assert (read.data.queue, read.data.reason, read.data.by) == ("credit", "wrong-department", None)
    assert (read.id, read.dataversion, read.dataschema) == ("old-router-1", 2, ReclassifyTask.dataschema())
    first, again = classified(published)
    assert first.queue == "finance"
    assert (again.queue, again.rule) == ("credit", "reclassify:wrong-department")
    assert dead.envelopes == []


async def test_a_newer_version_than_the_code_knows_is_dead_lettered_with_upgrade_the_consumer(
    consumers: tuple[MemoryBus, RecordingBus, Observed, Observed],
) -> None:
    bus, published, _, dead = consumers
    with pytest.raises(codec.DecodeError, match=r"reclassify_task v3 is newer than this code \(v2\); upgrade the"):
        codec.decode(V3)
    await bus.publish_raw(TOPICS.tasks, "t1", V3, event_type=RECLASSIFY)
    await wait_until(lambda: len(dead.envelopes) == 2, timeout=5, what="a dead letter from each group")
    letters = [e.data for e in dead.envelopes if isinstance(e.data, DeadLettered) and e.data.group == "wr-prioritiser"]
    (letter,) = letters
    assert letter.error_type == "decode"
    assert "v3 is newer than this code (v2); upgrade the consumer" in letter.reason
    assert letter.value.encode() == V3
    assert len(classified(published)) == 1, "only the capture was classified"
