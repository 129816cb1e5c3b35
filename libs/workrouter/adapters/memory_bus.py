"""In-process bus for the one-process mode: partitioned logs and consumer groups in memory.

It keeps Kafka's semantics that services rely on: a key always maps to the partition
Kafka's default partitioner would pick, a partition is consumed in order by one consumer
per group, an offset is committed only after the handler succeeded, and a consumer
restarted in the same bus resumes from the committed offset. Each group has one consumer,
so a subscription owns every partition of its topic from start to stop.

Without a journal it is not durable: a process crash loses what was in it, and `drain` waits
until every group has handled everything. With a `BusJournal` (adapters/bus_journal.py),
`publish` returns only once the record is on disk, committed offsets follow, and `start`
replays what the journal holds: every record some group had not committed is delivered again,
in order per partition, with its old offset (at least once, like Kafka after a crash).

Memory stays bounded by what is not yet handled: records every group has committed are
dropped (a topic nobody subscribes to keeps its last `retain` records, e.g. dead letters).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from workrouter.adapters.bus_journal import BusJournal
from workrouter.adapters.memory_log import PartitionLog, Record, restore
from workrouter.bus.batch_delivery import Incoming, deliver_batch
from workrouter.bus.delivery import SKIPPED, DeliveryPolicy, Verdict, attempt, dead_letter, taking
from workrouter.bus.ownership import PartitionOwnership
from workrouter.bus.partitioning import partition_for
from workrouter.bus.port import BatchHandler, Delivery, Handler, PartitionsCallback
from workrouter.contracts.codec import encode
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import ALL_TOPICS, DEADLETTER, TopicSpec

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Subscription:
    topic: str
    group: str
    handler: Handler | None
    ownership: PartitionOwnership
    wakeups: list[asyncio.Event] = field(default_factory=list)
    batch_handler: BatchHandler | None = None
    max_records: int = 1
    types: frozenset[str] | None = None


class MemoryBus:
    """The Bus port over in-memory partitioned logs."""

    def __init__(
        self,
        topics: Sequence[TopicSpec] = ALL_TOPICS,
        *,
        deadletter_topic: str = DEADLETTER.name,
        policy: DeliveryPolicy | None = None,
        stop_timeout: float = 10.0,
        retain: int = 10_000,
        journal: BusJournal | None = None,
    ) -> None:
        self._stop_timeout = stop_timeout
        self._retain = retain
        self._journal = journal
        self._specs = {t.name: t for t in topics}
        self._deadletter_topic = deadletter_topic
        self._policy = policy or DeliveryPolicy()
        self._logs: dict[str, list[PartitionLog]] = {}
        self._committed: dict[tuple[str, str, int], int] = {}
        self._subs: list[_Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._round_robin = itertools.count()
        self._progress = asyncio.Event()  # set whenever a subscription commits
        self._running = False  # consumers run
        self._open = False  # publishing allowed (stays open while in-flight handlers finish)

    def subscribe(
        self,
        topic: str,
        group: str,
        handler: Handler,
        *,
        on_assign: PartitionsCallback | None = None,
        on_revoke: PartitionsCallback | None = None,
        types: Collection[str] | None = None,
    ) -> None:
        """Register a handler; one subscription per (topic, group) in this bus, owning all the topic's partitions
        (given only events of `types`, if set: the others are committed unread)."""
        self._check_new(topic, group)
        ownership = PartitionOwnership(topic, group, on_assign=on_assign, on_revoke=on_revoke, policy=self._policy)
        wanted = None if types is None else frozenset(types)
        self._subs.append(_Subscription(topic, group, taking(handler, wanted), ownership, types=wanted))

    def subscribe_batch(
        self,
        topic: str,
        group: str,
        handler: BatchHandler,
        *,
        max_records: int = 500,
        max_wait_ms: int = 200,
        types: Collection[str] | None = None,
        on_assign: PartitionsCallback | None = None,
        on_revoke: PartitionsCallback | None = None,
    ) -> None:
        """Register a batch handler: each call gets what is waiting in one partition, up to `max_records`
        (of `types` only, if given: the others are committed unread)."""
        self._check_new(topic, group)
        ownership = PartitionOwnership(topic, group, on_assign=on_assign, on_revoke=on_revoke, policy=self._policy)
        wanted = None if types is None else frozenset(types)
        self._subs.append(
            _Subscription(topic, group, None, ownership, batch_handler=handler, max_records=max_records, types=wanted)
        )

    def _check_new(self, topic: str, group: str) -> None:
        if any(s.topic == topic and s.group == group for s in self._subs):
            raise ValueError(f"group {group!r} already subscribes to {topic!r} on this bus")

    async def start(self) -> None:
        """Create topics, assign each subscription all its topic's partitions, start one consumer task per partition."""
        if self._running:
            return
        if self._journal is not None:
            await self._open_journal(self._journal)
        for spec in self._specs.values():
            self._logs.setdefault(spec.name, [PartitionLog() for _ in range(spec.partitions)])
        if self._deadletter_topic not in self._logs:
            raise ValueError(f"dead-letter topic {self._deadletter_topic!r} is not among the bus topics")
        self._running = self._open = True
        for sub in self._subs:
            if sub.topic not in self._logs:
                raise ValueError(f"subscription to unknown topic {sub.topic!r}")
            sub.wakeups = [asyncio.Event() for _ in self._logs[sub.topic]]
            # The topic's spec (the registry's, under the bus's prefix) sets its partition count.
            sub.ownership.assign(set(range(len(self._logs[sub.topic]))))
            for partition in range(len(self._logs[sub.topic])):
                task = asyncio.create_task(self._consume(sub, partition), name=f"{sub.group}:{sub.topic}[{partition}]")
                self._tasks.append(task)

    async def stop(self) -> None:
        """Let in-flight handlers finish (up to `stop_timeout` s), stop consuming, then revoke every partition."""
        if not self._running:
            return
        self._running = False
        for sub in self._subs:
            sub.ownership.close()
            for event in sub.wakeups:
                event.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self._stop_timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        for sub in self._subs:
            await sub.ownership.revoke()
        self._open = False
        if self._journal is not None:
            await self._journal.close()

    async def _open_journal(self, journal: BusJournal) -> None:
        """On the first start, rebuild the logs and offsets from the journal; then let it take new records."""
        readers: dict[str, list[str]] = {}
        for sub in self._subs:
            readers.setdefault(sub.topic, []).append(sub.group)
        if not self._logs:
            replay = await asyncio.to_thread(journal.replay)
            self._committed.update(replay.committed)
            self._logs = restore(self._specs.values(), replay, readers)
            if replayed := self.pending():
                log.info("bus journal: %d records to deliver again after a restart", replayed)
        await journal.open(self._committed, readers)

    async def publish(self, topic: str, event: Envelope) -> None:
        """Append an event to the partition its key maps to."""
        await self.publish_raw(topic, event.partitionkey, encode(event), event_type=event.type)

    async def publish_all(self, events: Sequence[tuple[str, Envelope]]) -> None:
        """Append each, in order."""
        for topic, event in events:
            await self.publish(topic, event)

    async def publish_raw(self, topic: str, key: str | None, value: bytes, *, event_type: str | None = None) -> None:
        """Append bytes as they are (with the event's type, if known, for subscribers that filter on it)."""
        if not self._open:
            raise RuntimeError("bus is not started")
        try:
            partitions = self._logs[topic]
        except KeyError:
            raise ValueError(f"unknown topic {topic!r}; known: {sorted(self._logs)}") from None
        index = self._partition(key, len(partitions))
        partition = partitions[index]
        offset = partition.end
        partition.records.append(Record(key, value, event_type))
        durable = None if self._journal is None else self._journal.append(topic, index, offset, key, value)
        if len(partition.records) > 2 * self._retain:
            self._trim(topic, index)
        for sub in self._subs:
            if sub.topic == topic and sub.wakeups:
                sub.wakeups[index].set()
        if durable is not None:
            await durable

    def _trim(self, topic: str, index: int) -> None:
        partition = self._logs[topic][index]
        readers = [self._committed.get((s.group, topic, index), 0) for s in self._subs if s.topic == topic]
        partition.trim(min(readers) if readers else partition.end - self._retain)

    def pending(self) -> int:
        """Records published but not yet handled, summed over every subscription."""
        return sum(
            log.end - self._committed.get((sub.group, sub.topic, index), 0)
            for sub in self._subs
            for index, log in enumerate(self._logs.get(sub.topic, []))
        )

    async def drain(self, within: float) -> int:
        """Wait until every subscription has handled everything published (handlers may publish more);
        returns what is still pending after `within` seconds (0 when drained)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while self.pending() and self._running:
                    self._progress.clear()
                    await self._progress.wait()
        return self.pending()

    async def list_topics(self) -> set[str]:
        """Names of the created topics."""
        return set(self._logs)

    def _partition(self, key: str | None, count: int) -> int:
        if key is None:
            return next(self._round_robin) % count
        return partition_for(key, count)

    async def _consume(self, sub: _Subscription, partition: int) -> None:
        records = self._logs[sub.topic][partition]
        wakeup = sub.wakeups[partition]
        position = (sub.group, sub.topic, partition)
        while self._running:
            offset = max(self._committed.get(position, 0), records.base)  # a late group starts at the earliest kept
            if offset >= records.end:
                wakeup.clear()
                if offset >= records.end:
                    await wakeup.wait()
                continue
            async with sub.ownership.admit(partition) as ours:
                if not ours:
                    return
                if sub.batch_handler is not None:
                    done = await self._deliver_batch(sub, partition, offset, records.at(offset, sub.max_records))
                    if done:
                        self._committed[position] = offset + done
                elif await self._deliver(sub, partition, offset, records.at(offset)[0]):
                    self._committed[position] = offset + 1
                self._progress.set()

    async def _deliver_batch(self, sub: _Subscription, partition: int, offset: int, batch: list[Record]) -> int:
        """Handle records from `offset` as one batch; how many were settled (0 if stopped first)."""
        assert sub.batch_handler is not None
        messages = [
            Incoming(r.value, Delivery(sub.topic, partition, offset + i, r.key, 1), r.type) for i, r in enumerate(batch)
        ]
        settled = await deliver_batch(
            messages, sub.batch_handler, self._policy, running=lambda: self._running, wanted=sub.types
        )
        if settled is None:
            return 0
        for item in settled:
            if item.outcome.verdict is Verdict.DEAD_LETTER:
                letter = dead_letter(item.value, item.delivery, sub.group, item.outcome)
                await self.publish(self._deadletter_topic, letter)
        return len(batch)

    async def _deliver(self, sub: _Subscription, partition: int, offset: int, record: Record) -> bool:
        """Try a record until it is handled or dead-lettered; False if stopped first."""
        if sub.types is not None and record.type is not None and record.type not in sub.types:
            SKIPPED.labels(sub.topic).inc()
            return True
        tries = 0
        while self._running:
            tries += 1
            delivery = Delivery(sub.topic, partition, offset, record.key, tries)
            assert sub.handler is not None
            outcome = await attempt(record.value, delivery, sub.handler, self._policy)
            if outcome.verdict is Verdict.ACK:
                return True
            if outcome.verdict is Verdict.DEAD_LETTER:
                await self.publish(self._deadletter_topic, dead_letter(record.value, delivery, sub.group, outcome))
                return True
            await asyncio.sleep(self._policy.backoff(tries))
        return False
