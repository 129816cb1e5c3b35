"""A consumer process that dies mid-handler: nothing unhandled was committed, and the group redelivers it."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from tests.contracts.bus_contract import Recorder, event
from tests.support.infra import ROOT, Infra
from tests.support.wait import wait_until
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.contracts.topics import TopicSpec

MESSAGES = 60
CRASH_ON = 25  # the consumer dies inside its 25th handler call
COMMIT_EVERY = 10


async def run_crashing_consumer(infra: Infra, work: str, dead: str, group: str, out: Path) -> None:
    """Run crash_consumer.py to its death; it must die of our os._exit(9)."""
    args = [infra.kafka_bootstrap, work, dead, group, str(out), str(CRASH_ON), str(COMMIT_EVERY)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.crash_consumer", *args, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 9, f"consumer should have died in delivery {CRASH_ON}: {stderr.decode()[-2000:]}"


async def committed_offsets(infra: Infra, group: str) -> dict[int, int]:
    """The group's committed offset per partition (0 where nothing was committed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


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
    await run_crashing_consumer(infra, work.name, dead.name, group, out)
    rows = [line.split() for line in out.read_text().splitlines()]
    assert rows[-1][0] == "crash"
    assert len(rows) == CRASH_ON
    crash_seq = int(rows[-1][1])
    where = {int(seq): (int(p), int(o)) for _, seq, p, o in rows}
    handled_first = {int(seq) for word, seq, _, _ in rows if word == "handled"}
    committed = await committed_offsets(infra, group)

    crash_partition, crash_offset = where[crash_seq]
    assert committed.get(crash_partition, 0) <= crash_offset, "an unhandled message was committed"
    kept = {s for s in handled_first if where[s][1] < committed.get(where[s][0], 0)}
    assert len(kept) >= COMMIT_EVERY, f"expected commits before the crash, committed={committed}"
    assert len(handled_first - kept) < COMMIT_EVERY, "at most one commit batch may be redelivered"

    second = Recorder()
    survivor = KafkaBus(infra.kafka_bootstrap, topics=[work, dead], deadletter_topic=dead.name)
    survivor.subscribe(work.name, group, second)
    await survivor.start()
    try:
        await wait_until(
            lambda: len(second.handled) >= MESSAGES - len(kept), timeout=90, what="the rest after the crash"
        )
    finally:
        await survivor.stop()

    handled_after = [env.data.priority for env in second.handled]  # type: ignore[attr-defined]
    assert crash_seq in handled_after, "the message in flight at the crash must be redelivered"
    assert set(handled_after) == set(range(MESSAGES)) - kept, "exactly what was not committed comes back"
    assert len(handled_after) == len(set(handled_after))
    per_key: dict[str, list[int]] = {}
    for env in second.handled:
        per_key.setdefault(env.partitionkey, []).append(env.data.priority)  # type: ignore[attr-defined]
    assert all(seqs == sorted(seqs) for seqs in per_key.values()), per_key
