"""One contract for the Bus port, run against every adapter (in-memory and Kafka)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from tests.support.wait import wait_until
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.partitioning import partition_for
from workrouter.bus.port import Bus, Delivery, PermanentError
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskReprioritised
from workrouter.contracts.topics import TopicSpec

BusFactory = Callable[[Sequence[TopicSpec], str, DeliveryPolicy], Bus]
FAST_RETRY = DeliveryPolicy(max_attempts=3, backoff_seconds=0.01, max_backoff_seconds=0.05)


def event(key: str, seq: int) -> Envelope:
    """A small task event whose priority field carries a sequence number."""
    return make_event(TaskReprioritised(task_id=key, priority=seq, reason="test"), source="/test", key=key)


def sequences(handled: list[Envelope]) -> dict[str, list[int]]:
    """The sequence numbers `event` put in each key's events, per key, in the order given."""
    out: dict[str, list[int]] = {}
    for env in handled:
        assert isinstance(env.data, TaskReprioritised)
        out.setdefault(env.partitionkey, []).append(env.data.priority)
    return out


class Recorder:
    """A handler that records what it saw; it can be told to fail."""

    def __init__(self, fail: Callable[[Envelope, Delivery], Exception | None] | None = None) -> None:
        self.seen: list[tuple[Envelope, Delivery]] = []
        self.handled: list[Envelope] = []
        self._fail = fail

    async def __call__(self, envelope: Envelope, delivery: Delivery) -> None:
        self.seen.append((envelope, delivery))
        if self._fail is not None and (exc := self._fail(envelope, delivery)) is not None:
            raise exc
        self.handled.append(envelope)

    def sequences(self) -> dict[str, list[int]]:
        """Handled sequence numbers per key, in handling order."""
        return sequences(self.handled)


class OwnershipLog:
    """Ownership callbacks and handler calls of one subscription, in the order they happened."""

    def __init__(self, assign_takes: float = 0.0) -> None:
        self.calls: list[tuple[str, frozenset[int]]] = []
        self._assign_takes = assign_takes

    async def on_assign(self, partitions: set[int]) -> None:
        self.calls.append(("assigning", frozenset(partitions)))
        await asyncio.sleep(self._assign_takes)  # a slow rebuild: messages must wait for it
        self.calls.append(("assigned", frozenset(partitions)))

    async def on_revoke(self, partitions: set[int]) -> None:
        self.calls.append(("revoked", frozenset(partitions)))

    async def handler(self, envelope: Envelope, delivery: Delivery) -> None:
        self.calls.append(("message", frozenset({delivery.partition})))

    def messages(self) -> int:
        """How many messages the handler got."""
        return sum(1 for what, _ in self.calls if what == "message")


class BusContract:
    """Subclasses provide `bus_factory`; every test here must pass on every adapter."""

    timeout = 30.0

    @pytest.fixture
    def bus_factory(self) -> BusFactory:
        raise NotImplementedError

    @pytest.fixture
    def topics(self) -> tuple[TopicSpec, TopicSpec]:
        """A fresh work topic (3 partitions) and dead-letter topic per test."""
        suffix = uuid.uuid4().hex[:10]
        work = TopicSpec(f"test.work.{suffix}", "test key", 3, "contract test topic", (TaskReprioritised,))
        dead = TopicSpec(f"test.dead.{suffix}", "original key", 1, "contract dead letters", (DeadLettered,))
        return work, dead

    @pytest.fixture
    def running(
        self, bus_factory: BusFactory, topics: tuple[TopicSpec, TopicSpec]
    ) -> Callable[[DeliveryPolicy], AbstractAsyncContextManager[Bus]]:
        @asynccontextmanager
        async def run(policy: DeliveryPolicy = FAST_RETRY) -> AsyncIterator[Bus]:
            bus = bus_factory(topics, topics[1].name, policy)
            yield bus
            await bus.stop()

        return run

    async def test_topics_are_created_on_start(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        async with running() as bus:
            before = await bus.list_topics()
            await bus.start()
            after = await bus.list_topics()
        assert {t.name for t in topics} <= after
        assert not {t.name for t in topics} & before

    async def test_order_is_kept_per_key(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, _ = topics
        keys = [f"task-{i}" for i in range(10)]
        recorder = Recorder()
        async with running() as bus:
            bus.subscribe(work.name, "g-order", recorder)
            await bus.start()
            for seq in range(30):
                for key in keys:
                    await bus.publish(work.name, event(key, seq))
            await wait_until(lambda: len(recorder.handled) == 300, timeout=self.timeout, what="300 events")
        assert recorder.sequences() == {key: list(range(30)) for key in keys}
        partitions = {d.partition for _, d in recorder.seen}
        assert len(partitions) > 1, "keys should spread over partitions"

    async def test_failed_handler_gets_the_message_again_in_order(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, _ = topics

        def fail_first_try_of_seq_1(env: Envelope, d: Delivery) -> Exception | None:
            assert isinstance(env.data, TaskReprioritised)
            return RuntimeError("crash midway") if env.data.priority == 1 and d.attempt == 1 else None

        recorder = Recorder(fail_first_try_of_seq_1)
        async with running() as bus:
            bus.subscribe(work.name, "g-redeliver", recorder)
            await bus.start()
            for seq in range(3):
                await bus.publish(work.name, event("task-x", seq))
            await wait_until(lambda: len(recorder.handled) == 3, timeout=self.timeout, what="3 handled")
        assert recorder.sequences() == {"task-x": [0, 1, 2]}
        attempts = [
            (env.data.priority, d.attempt) for env, d in recorder.seen if isinstance(env.data, TaskReprioritised)
        ]
        assert attempts == [(0, 1), (1, 1), (1, 2), (2, 1)]
        first, second = (d for env, d in recorder.seen if env.data.priority == 1)  # type: ignore[attr-defined]
        assert (first.partition, first.offset) == (second.partition, second.offset)

    async def test_poison_message_is_dead_lettered_and_the_next_one_flows(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, dead = topics
        recorder, letters = Recorder(), Recorder()
        async with running() as bus:
            bus.subscribe(work.name, "g-poison", recorder)
            bus.subscribe(dead.name, "g-ops", letters)
            await bus.start()
            await bus.publish_raw(work.name, "task-p", b"{this is not json")
            await bus.publish(work.name, event("task-p", 7))
            await wait_until(
                lambda: len(recorder.handled) == 1 and len(letters.handled) == 1,
                timeout=self.timeout,
                what="the good event and the dead letter",
            )
        assert recorder.sequences() == {"task-p": [7]}
        letter = letters.handled[0].data
        assert isinstance(letter, DeadLettered)
        assert "not valid JSON" in letter.reason
        assert (letter.value, letter.topic, letter.key, letter.group) == (
            "{this is not json",
            work.name,
            "task-p",
            "g-poison",
        )
        assert letter.error_type == "decode"
        assert letter.attempts == 1

    async def test_handler_that_keeps_failing_is_dead_lettered_after_the_attempt_limit(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, dead = topics

        def always_fail_seq_0(env: Envelope, d: Delivery) -> Exception | None:
            return ValueError("database down") if env.data.priority == 0 else None  # type: ignore[attr-defined]

        recorder, letters = Recorder(always_fail_seq_0), Recorder()
        async with running(FAST_RETRY) as bus:
            bus.subscribe(work.name, "g-giveup", recorder)
            bus.subscribe(dead.name, "g-ops", letters)
            await bus.start()
            await bus.publish(work.name, event("task-g", 0))
            await bus.publish(work.name, event("task-g", 1))
            await wait_until(
                lambda: len(recorder.handled) == 1 and len(letters.handled) == 1,
                timeout=self.timeout,
                what="dead letter and next event",
            )
        assert [d.attempt for env, d in recorder.seen if env.data.priority == 0] == [1, 2, 3]  # type: ignore[attr-defined]
        letter = letters.handled[0].data
        assert isinstance(letter, DeadLettered)
        assert letter.attempts == FAST_RETRY.max_attempts
        assert letter.error_type == "ValueError"
        assert "database down" in letter.reason
        assert recorder.sequences() == {"task-g": [1]}

    async def test_permanent_error_is_dead_lettered_without_retry(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, dead = topics
        recorder = Recorder(lambda env, d: PermanentError("queue 'nope' does not exist"))
        letters = Recorder()
        async with running() as bus:
            bus.subscribe(work.name, "g-perm", recorder)
            bus.subscribe(dead.name, "g-ops", letters)
            await bus.start()
            await bus.publish(work.name, event("task-r", 0))
            await wait_until(lambda: len(letters.handled) == 1, timeout=self.timeout, what="the dead letter")
        assert len(recorder.seen) == 1
        letter = letters.handled[0].data
        assert isinstance(letter, DeadLettered)
        assert letter.error_type == "rejected"
        assert "does not exist" in letter.reason

    async def test_each_group_gets_every_message(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, _ = topics
        first, second = Recorder(), Recorder()
        async with running() as bus:
            bus.subscribe(work.name, "g-a", first)
            bus.subscribe(work.name, "g-b", second)
            await bus.start()
            for seq in range(20):
                await bus.publish(work.name, event(f"task-{seq % 4}", seq))
            await wait_until(
                lambda: len(first.handled) == len(second.handled) == 20, timeout=self.timeout, what="both groups"
            )
        assert sorted(e.id for e in first.handled) == sorted(e.id for e in second.handled)

    async def test_a_lone_subscriber_owns_every_partition_before_its_first_message(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, _ = topics
        everything = frozenset(range(work.partitions))
        log = OwnershipLog(assign_takes=0.3)
        async with running() as bus:
            bus.subscribe(work.name, "g-own", log.handler, on_assign=log.on_assign, on_revoke=log.on_revoke)
            await bus.start()
            for seq in range(12):
                await bus.publish(work.name, event(f"task-{seq}", seq))
            await wait_until(lambda: log.messages() == 12, timeout=self.timeout, what="12 messages")
        assert log.calls[:2] == [("assigning", everything), ("assigned", everything)]
        assert all(what == "message" for what, _ in log.calls[2:-1]), log.calls
        assert log.calls[-1] == ("revoked", everything), "stopping the bus revokes what it owned"

    async def test_a_key_lands_on_the_partition_kafka_s_default_partitioner_picks(
        self, running: Callable[..., AbstractAsyncContextManager[Bus]], topics: tuple[TopicSpec, TopicSpec]
    ) -> None:
        work, _ = topics
        recorder = Recorder()
        keys = [f"domain-{i}" for i in range(24)]
        async with running() as bus:
            bus.subscribe(work.name, "g-keys", recorder)
            await bus.start()
            for seq, key in enumerate(keys):
                await bus.publish(work.name, event(key, seq))
            await wait_until(lambda: len(recorder.seen) == len(keys), timeout=self.timeout, what="every key")
        placed = {delivery.key: delivery.partition for _, delivery in recorder.seen}
        assert placed == {key: partition_for(key, work.partitions) for key in keys}
