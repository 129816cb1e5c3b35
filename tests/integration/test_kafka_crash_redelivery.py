"""A consumer process that dies mid-handler leaves its message to the next member of the group."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from tests.contracts.bus_contract import Recorder, event
from tests.support.infra import ROOT, Infra
from tests.support.wait import wait_until
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.contracts.topics import TopicSpec

MESSAGES = 60
CRASH_AT = 25


async def test_message_in_flight_when_the_consumer_dies_is_redelivered(infra: Infra, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:10]
    work = TopicSpec(f"test.crash.{suffix}", "key", 3, "crash test", ())
    dead = TopicSpec(f"test.crash-dead.{suffix}", "key", 1, "crash test dead letters", ())
    group = f"crash-{suffix}"
    publisher = KafkaBus(infra.kafka_bootstrap, topics=[work, dead], deadletter_topic=dead.name)
    await publisher.start()
    for seq in range(MESSAGES):
        await publisher.publish(work.name, event(f"task-{seq % 6}", seq))
    await publisher.stop()

    out = tmp_path / "first.log"
    first = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.crash_consumer",
        infra.kafka_bootstrap,
        work.name,
        dead.name,
        group,
        str(out),
        str(CRASH_AT),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(first.communicate(), timeout=120)
    assert first.returncode == 9, f"consumer should have died on message {CRASH_AT}: {stderr.decode()[-2000:]}"
    lines = out.read_text().splitlines()
    assert lines[-1] == f"crash {CRASH_AT}"
    handled_before_crash = {int(line.split()[1]) for line in lines if line.startswith("handled")}
    assert CRASH_AT not in handled_before_crash

    second = Recorder()
    survivor = KafkaBus(infra.kafka_bootstrap, topics=[work, dead], deadletter_topic=dead.name)
    survivor.subscribe(work.name, group, second)
    await survivor.start()
    remaining = MESSAGES - len(handled_before_crash)
    try:
        await wait_until(
            lambda: len(second.handled) >= remaining, timeout=90, what=f"{remaining} messages after the crash"
        )
    finally:
        await survivor.stop()

    handled_after = [env.data.priority for env in second.handled]  # type: ignore[attr-defined]
    assert CRASH_AT in handled_after, "the message in flight at the crash must be redelivered"
    assert set(handled_after) == set(range(MESSAGES)) - handled_before_crash, "committed messages must not come back"
    assert len(handled_after) == len(set(handled_after))
    per_key: dict[str, list[int]] = {}
    for env in second.handled:
        per_key.setdefault(env.partitionkey, []).append(env.data.priority)  # type: ignore[attr-defined]
    assert all(seqs == sorted(seqs) for seqs in per_key.values()), per_key
