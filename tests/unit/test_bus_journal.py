"""The in-process bus with its journal: the bus contract still holds, and what was published survives a crash.

A "crash" here is a bus that is never stopped: its journal is left as a killed process leaves it
(everything `publish` returned for is written; nothing is flushed at stop), and a new bus on the
same folder replays it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.contracts.bus_batch_contract import BatchBusContract
from tests.contracts.bus_contract import FAST_RETRY, BusContract, BusFactory, Recorder, event
from tests.support.wait import wait_until
from workrouter.adapters.bus_journal import BusJournal
from workrouter.adapters.journal_frames import FrameReader, JournalRecord, commits_frame, record_frame
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.partitioning import partition_for
from workrouter.bus.port import Bus, Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import TaskReprioritised
from workrouter.contracts.topics import TopicSpec

Topics = tuple[TopicSpec, TopicSpec]


class TestJournaledMemoryBusContract(BusContract, BatchBusContract):
    timeout = 5.0

    @pytest.fixture
    def bus_factory(self, tmp_path: Path) -> BusFactory:
        def make(topics: Sequence[TopicSpec], deadletter: str, policy: DeliveryPolicy) -> Bus:
            return MemoryBus(topics, deadletter_topic=deadletter, policy=policy, journal=BusJournal(tmp_path / "bus"))

        return make


def journaled(folder: Path, topics: Topics, segment_bytes: int = 16 << 20) -> MemoryBus:
    return MemoryBus(
        topics,
        deadletter_topic=topics[1].name,
        policy=FAST_RETRY,
        journal=BusJournal(folder, segment_bytes=segment_bytes),
        retain=10,
    )


async def crash(bus: MemoryBus) -> None:
    """Leave the journal as kill -9 would: what `publish` returned for is written; no last flush, no cleanup."""
    journal = bus._journal
    assert journal is not None
    assert journal._flusher is not None
    tasks = [*bus._tasks, journal._flusher]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert journal._fd is not None
    os.close(journal._fd)


def segments(folder: Path) -> list[Path]:
    """The journal's segment files, oldest first."""
    return sorted(folder.glob("*.journal"))


def on_disk(folder: Path) -> list[JournalRecord]:
    """Every whole record in the folder's segments."""
    return [
        i for p in sorted(folder.glob("*.journal")) for i in FrameReader(p.read_bytes()) if isinstance(i, JournalRecord)
    ]


def test_frames_read_back_and_a_torn_tail_is_left_out() -> None:
    whole = record_frame("t", 2, 7, "k", b"v1") + record_frame("t", 0, 0, None, b"") + commits_frame({("g", "t", 2): 8})
    for cut in range(1, 12):
        reader = FrameReader(whole + record_frame("t", 2, 8, "k", b"v2")[:-cut])
        items = list(reader)
        assert items == [
            JournalRecord("t", 2, 7, "k", b"v1"),
            JournalRecord("t", 0, 0, None, b""),
            {("g", "t", 2): 8},
        ]
        assert reader.whole == len(whole)
        assert reader.torn
    damaged = bytearray(whole)
    damaged[12] ^= 0xFF  # a flipped byte in the first record's body: its checksum fails, nothing after it is trusted
    assert list(FrameReader(bytes(damaged))) == []


async def test_what_was_published_is_delivered_after_a_crash_in_order_and_handled_records_are_not(
    tmp_path: Path, topics: Topics
) -> None:
    work, _ = topics
    before = journaled(tmp_path, topics)
    release = asyncio.Event()
    first = Recorder()

    async def stalls_at_k3(envelope: Envelope, delivery: Delivery) -> None:
        assert isinstance(envelope.data, TaskReprioritised)
        if envelope.partitionkey == "k" and envelope.data.priority >= 3:
            await release.wait()
        await first(envelope, delivery)

    before.subscribe(work.name, "g", stalls_at_k3)
    await before.start()
    for seq in range(10):
        await before.publish(work.name, event("k", seq))
        await before.publish(work.name, event("other", seq))
    await wait_until(lambda: len(first.sequences().get("other", [])) == 10, timeout=5, what="key other handled")
    await wait_until(lambda: len(first.sequences().get("k", [])) == 3, timeout=5, what="k up to 2")
    assert before._journal is not None
    await before._journal.flush()  # the committed offsets on disk, as the flusher writes them when idle
    await crash(before)
    after = journaled(tmp_path, topics)
    second = Recorder()
    after.subscribe(work.name, "g", second)
    await after.start()
    assert await after.drain(within=5) == 0
    await after.stop()
    assert second.sequences() == {"k": list(range(3, 10))}  # nothing lost, in order; what was committed not again


async def test_a_record_the_crash_tore_is_dropped_and_the_next_start_appends_after_it(
    tmp_path: Path, topics: Topics
) -> None:
    work, _ = topics
    before = journaled(tmp_path, topics)
    await before.start()  # nobody subscribes in this process: every record waits for "g" after the restart
    for seq in range(5):
        await before.publish(work.name, event("k", seq))
    await crash(before)
    last = segments(tmp_path)[-1]
    with last.open("ab") as out:
        out.write(record_frame(work.name, 0, 99, "k", b"half")[:-5])  # a write cut short by kill -9
    for restart in range(2):  # the torn frame is cut off, so the second restart reads the first one's records too
        after = journaled(tmp_path, topics)
        recorder = Recorder()
        after.subscribe(work.name, "g", recorder)
        await after.start()
        await after.publish(work.name, event("k", 5 + restart))
        await wait_until(lambda: len(recorder.handled) == 6 + restart, timeout=5, what="every record")  # noqa: B023
        assert recorder.sequences() == {"k": list(range(6 + restart))}
        await crash(after)


async def test_redelivery_after_a_crash_has_the_same_ids_and_offsets(tmp_path: Path, topics: Topics) -> None:
    work, _ = topics
    before = journaled(tmp_path, topics)
    await before.start()
    for seq in range(4):
        await before.publish(work.name, event(f"k{seq}", seq))
    await crash(before)
    runs: list[dict[str, tuple[int, int]]] = []
    for _ in range(2):  # handled, but crashed before its offsets were written: the same events again
        seen: dict[str, tuple[int, int]] = {}

        async def record(envelope: Envelope, delivery: Delivery, seen: dict[str, tuple[int, int]] = seen) -> None:
            seen[envelope.id] = (delivery.partition, delivery.offset)

        after = journaled(tmp_path, topics)
        after.subscribe(work.name, "g", record)
        await after.start()
        await wait_until(lambda: len(seen) == 4, timeout=5, what="four events")  # noqa: B023
        await crash(after)
        runs.append(seen)
    assert runs[0] == runs[1]  # a consumer that dedupes by event id or offset sees nothing new


@pytest.mark.slow
async def test_the_journal_stays_bounded_and_a_clean_stop_leaves_it_empty(tmp_path: Path, topics: Topics) -> None:
    work, _ = topics
    bus = journaled(tmp_path, topics, segment_bytes=4096)
    fast, slow = Recorder(), Recorder()
    bus.subscribe(work.name, "fast", fast)
    bus.subscribe(work.name, "slow", slow)
    await bus.start()
    most = 0
    for seq in range(2000):
        await bus.publish(work.name, event(f"k{seq % 7}", seq))
        most = max(most, len(segments(tmp_path)))
    assert await bus.drain(within=10) == 0
    await bus.stop()
    assert len(fast.handled) == len(slow.handled) == 2000
    assert most < 20, f"{most} segments at once (of about 250 written): handled segments must go"
    assert segments(tmp_path) == []


async def test_a_segment_is_kept_while_one_group_has_not_handled_it(tmp_path: Path, topics: Topics) -> None:
    work, _ = topics
    bus = journaled(tmp_path, topics, segment_bytes=2048)
    release = asyncio.Event()
    fine = Recorder()

    async def stuck(envelope: Envelope, _: Delivery) -> None:
        if envelope.partitionkey == "stuck":
            await release.wait()

    bus.subscribe(work.name, "fine", fine)
    bus.subscribe(work.name, "stuck", stuck)
    await bus.start()
    await bus.publish(work.name, event("stuck", 0))
    stuck_at = partition_for("stuck", work.partitions)
    other = next(k for k in (f"other{i}" for i in range(99)) if partition_for(k, work.partitions) != stuck_at)
    for seq in range(200):
        await bus.publish(work.name, event(other, seq))
    await wait_until(lambda: len(fine.handled) == 201, timeout=5, what="group fine")
    assert bus._journal is not None
    await bus._journal.flush()
    kept = on_disk(tmp_path)
    assert [r.key for r in kept if r.key == "stuck"] == ["stuck"]
    assert len(kept) < 100, len(kept)  # the segments after the stuck one that both groups handled are gone
    release.set()
    assert await bus.drain(within=5) == 0
    await bus.stop()
    assert segments(tmp_path) == []
