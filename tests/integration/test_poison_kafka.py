"""On real Kafka and PostgreSQL: a consumer that gives up on a task's event has the task held, visibly (D13).

Capture, prioritiser (with its wr.deadletter group) and api run as in production, each on its own bus;
a consumer standing for any service keeps failing on one task's events. The task is held with that
consumer's group and the reason, the dead letter keeps the original, the tasks after it on the same
partition flow, the dead letter sent again publishes the same hold, and a reclassification releases it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.support.infra import Infra
from tests.support.pipeline import Pipeline, capture_pipeline, fresh_database
from tests.support.wait import wait_until
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.partitioning import partition_for
from workrouter.bus.port import Delivery
from workrouter.contracts import codec
from workrouter.contracts import commands as c
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskErrorHeld
from workrouter.contracts.topics import TASKS, capture_key
from workrouter.domain.capture import task_id_for

GROUP = "escalation-under-test"


@pytest.fixture
async def pipeline(infra: Infra) -> AsyncIterator[Pipeline]:
    async with (
        fresh_database(infra.database_url) as url,
        capture_pipeline(infra.kafka_bootstrap, url, poison=True) as running,
    ):
        yield running


def same_partition(run: str, count: int) -> list[str]:
    """External ids whose tasks share one wr.tasks partition (the first is the one to break)."""
    first = partition_for(task_id_for("crm", f"{run}-0"), TASKS.partitions)
    ids = (f"{run}-{n}" for n in range(10_000))
    return [i for i in ids if partition_for(task_id_for("crm", i), TASKS.partitions) == first][:count]


def capture(external_id: str) -> Envelope:
    command = c.CaptureTask(
        source="crm",
        external_id=external_id,
        type="invoice_dispute",
        title="Wrong invoice",
        attributes={"department": "Finance", "segment": "Gold", "amount": 10},
    )
    return make_event(command, source="/test", key=capture_key("crm", external_id))


async def test_a_consumer_that_gives_up_on_a_task_has_it_held_on_kafka(infra: Infra, pipeline: Pipeline) -> None:
    p = pipeline
    bad_ext, *good_ext = same_partition(uuid.uuid4().hex[:8], 3)
    bad = task_id_for("crm", bad_ext)
    good = [task_id_for("crm", e) for e in good_ext]
    handled: list[str] = []
    broken = [True]

    async def faulty(envelope: Envelope, _: Delivery) -> None:
        if broken[0] and getattr(envelope.data, "task_id", None) == bad:
            raise RuntimeError(f"cannot handle {envelope.type}")
        handled.append(getattr(envelope.data, "task_id", ""))

    policy = DeliveryPolicy(max_attempts=2, backoff_seconds=0.01, max_backoff_seconds=0.01)
    service = KafkaBus(
        infra.kafka_bootstrap,
        topics=p.topics.specs(),
        deadletter_topic=p.topics.deadletter,
        policy=policy,
        options=KafkaOptions(client_id="faulty"),
    )
    service.subscribe(p.topics.tasks, GROUP, faulty)
    await service.start()
    try:
        for external_id in (good_ext[0], bad_ext, good_ext[1]):
            await p.producer.publish(p.topics.capture, capture(external_id))

        await wait_until(lambda: bool(p.tasks.of_type(TaskErrorHeld.event_type)), timeout=60, what="the hold")
        (hold,) = p.tasks.of_type(TaskErrorHeld.event_type)
        assert isinstance(hold.data, TaskErrorHeld)
        assert (hold.data.task_id, hold.data.service) == (bad, GROUP)
        assert "RuntimeError: cannot handle workrouter.task.captured" in hold.data.reason
        (letter,) = [d for d in p.dead.events if isinstance(d.data, DeadLettered) and d.id == hold.data.dead_letter_id]
        assert isinstance(letter.data, DeadLettered)
        (captured,) = [e for e in p.tasks.of_type("workrouter.task.captured") if e.partitionkey == bad]
        assert letter.data.value == codec.encode(captured).decode()  # the original, byte for byte
        # nothing stalled: the tasks after it on the same partition reached the broken consumer
        await wait_until(lambda: good[1] in handled, timeout=60, what="the next task on the partition")
        # the observer of wr.tasks may lag the consumer under test on a loaded machine. The held task is
        # classified only if the prioritiser saw its capture before the hold; if the hold came first, it stays
        # held unclassified (D13). Either way it is held, as asserted above.
        await wait_until(
            lambda: p.tasks.task_ids("workrouter.task.classified") >= set(good),
            timeout=60,
            what="the others classified",
        )

        # the dead letter comes again: the same hold (same id), nothing new
        await p.producer.publish(p.topics.deadletter, letter)
        await wait_until(lambda: p.tasks.duplicates >= 1, timeout=60, what="the same hold again")
        assert len(p.tasks.of_type(TaskErrorHeld.event_type)) == 1

        broken[0] = False  # the fix; then a person releases the task
        again = make_event(ReclassifyTask(task_id=bad, reason="fixed"), source="/test", key=bad, subject=bad)
        await p.producer.publish(p.topics.tasks, again)

        def released() -> bool:
            classified = p.tasks.of_type("workrouter.task.classified")
            return any(e.partitionkey == bad and e.time > hold.time for e in classified)

        await wait_until(released, timeout=60, what="the released task classified again")
        assert len(p.tasks.of_type(TaskErrorHeld.event_type)) == 1
    finally:
        await service.stop()
