"""Fuzz on real Kafka: 10,000 malformed wr.capture messages are each answered (TaskRejected) or, when not even
readable as a command, dead-lettered with a reason; valid ones flow."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator

import pytest

from tests.support.infra import Infra
from tests.support.malformed import bad_capture_message, valid_body
from tests.support.pipeline import Pipeline, capture_pipeline, fresh_database
from tests.support.wait import wait_until
from workrouter.contracts.commands import CaptureTask
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import make_event
from workrouter.contracts.topics import capture_key

MALFORMED = int(os.environ.get("WR_FUZZ_MESSAGES", "10000"))
VALID_EVERY = 20


@pytest.fixture
async def pipeline(infra: Infra) -> AsyncIterator[Pipeline]:
    async with fresh_database(infra.database_url) as url, capture_pipeline(infra.kafka_bootstrap, url) as running:
        yield running


async def test_malformed_capture_messages_are_refused_or_dead_lettered_and_valid_ones_captured(
    pipeline: Pipeline,
) -> None:
    rng = random.Random(11)
    sends = []
    valid = 0
    for n in range(MALFORMED):
        key = rng.choice(["crm:A", "crm:B", "bpm:C", None])  # shared keys: bad and good input on the same partitions
        sends.append(pipeline.producer.publish_raw(pipeline.topics.capture, key, bad_capture_message(rng, n)))
        if n % VALID_EVERY == 0:
            cmd = CaptureTask.model_validate(valid_body(n))
            sends.append(
                pipeline.producer.publish(
                    pipeline.topics.capture, make_event(cmd, source="/fuzz", key=capture_key("crm", cmd.external_id))
                )
            )
            valid += 1
        if len(sends) >= 500:
            await asyncio.gather(*sends)
            sends = []
    await asyncio.gather(*sends)

    await wait_until(
        lambda: (
            len(pipeline.dead.events) + len(pipeline.tasks.of_type("workrouter.task.rejected")) >= MALFORMED
            and len(pipeline.tasks.of_type("workrouter.task.captured")) >= valid
        ),
        timeout=300,
        what=f"{MALFORMED} dead letters or refusals and {valid} captures",
    )
    letters = [e.data for e in pipeline.dead.events]
    assert all(isinstance(d, DeadLettered) for d in letters)
    rejected = pipeline.tasks.of_type("workrouter.task.rejected")
    assert len(letters) + len(rejected) == MALFORMED
    assert len(rejected) > MALFORMED // 10, "readable commands that break the contract are answered, not dead-lettered"
    odd = [
        (d.group, d.reason) for d in letters if isinstance(d, DeadLettered) and not (d.reason and d.group == "capture")
    ]
    assert odd == []
    kinds = {d.error_type for d in letters if isinstance(d, DeadLettered)}
    assert kinds == {"decode"}, kinds  # only what no one could answer
    assert len(pipeline.tasks.of_type("workrouter.task.captured")) == valid
