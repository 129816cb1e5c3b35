"""The batch-subscription part of the Bus contract, run against every adapter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import cast

from tests.contracts.bus_contract import Recorder, event, sequences
from tests.support.wait import wait_until
from workrouter.bus.port import BatchBus, Bus, Delivery, PermanentError
from workrouter.contracts.codec import encode
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskQueued, TaskReprioritised
from workrouter.contracts.topics import TopicSpec

Running = Callable[..., AbstractAsyncContextManager[Bus]]
Topics = tuple[TopicSpec, TopicSpec]


class BatchRecorder:
    """A batch handler that records every call; `fail` decides per call whether it raises."""

    def __init__(self, fail: Callable[[list[Envelope], int], Exception | None] | None = None) -> None:
        self.calls: list[list[tuple[Envelope, Delivery]]] = []
        self.handled: list[Envelope] = []
        self._fail = fail

    async def __call__(self, batch: Sequence[tuple[Envelope, Delivery]]) -> None:
        self.calls.append(list(batch))
        envelopes = [env for env, _ in batch]
        if self._fail is not None and (exc := self._fail(envelopes, len(self.calls))) is not None:
            raise exc
        self.handled.extend(envelopes)

    def sequences(self) -> dict[str, list[int]]:
        """Handled sequence numbers per key, in handling order."""
        return sequences(self.handled)


def _batch(bus: Bus) -> BatchBus:
    """Both adapters take batch subscriptions; the contract's factory is typed as the plain port."""
    return cast(BatchBus, bus)


def _seqs(envelopes: list[Envelope]) -> set[int]:
    return {env.data.priority for env in envelopes if isinstance(env.data, TaskReprioritised)}


class BatchBusContract:
    """Batch subscriptions: batches form, order per key holds, failures retry whole, poison goes alone.

    Mixed into a BusContract subclass, whose fixtures (`running`, `topics`) it uses.
    """

    timeout: float

    async def test_a_batch_handler_gets_every_message_once_in_order_per_key(
        self, running: Running, topics: Topics
    ) -> None:
        work, _ = topics
        keys = [f"task-{i}" for i in range(10)]
        sink = BatchRecorder()
        async with running() as bus:
            await bus.start()  # publish before subscribing starts, so a poll finds many waiting
            for seq in range(30):
                for key in keys:
                    await bus.publish(work.name, event(key, seq))
            await bus.stop()
            _batch(bus).subscribe_batch(work.name, "g-batch", sink, max_records=100)
            await bus.start()
            await wait_until(lambda: len(sink.handled) >= 300, timeout=self.timeout, what="300 events")
        assert sink.sequences() == {key: list(range(30)) for key in keys}
        assert max(len(call) for call in sink.calls) > 1, "messages waiting together come in one call"
        assert max(len(call) for call in sink.calls) <= 100

    async def test_a_failed_batch_comes_again_whole_and_nothing_is_lost(self, running: Running, topics: Topics) -> None:
        work, _ = topics
        sink = BatchRecorder(lambda envs, call: RuntimeError("database restarting") if call == 1 else None)
        async with running() as bus:
            _batch(bus).subscribe_batch(work.name, "g-batch-retry", sink)
            await bus.start()
            for seq in range(20):
                await bus.publish(work.name, event(f"task-{seq % 3}", seq))
            await wait_until(lambda: len(sink.handled) >= 20, timeout=self.timeout, what="20 events")
        first = sink.calls[0]
        start = (first[0][1].partition, first[0][1].offset)
        again = next(call for call in sink.calls[1:] if (call[0][1].partition, call[0][1].offset) == start)
        assert [(d.partition, d.offset) for _, d in again] == [(d.partition, d.offset) for _, d in first]
        assert {d.attempt for _, d in again} == {2}, "the same batch, as the second attempt"
        assert sorted(_seqs(sink.handled)) == list(range(20))
        assert len(sink.handled) == 20, "a message is handled once when its batch succeeds"

    async def test_a_message_the_handler_keeps_failing_on_is_dead_lettered_alone(
        self, running: Running, topics: Topics
    ) -> None:
        work, dead = topics

        def poison_seq_5(envs: list[Envelope], _: int) -> Exception | None:
            return ValueError("cannot store seq 5") if 5 in _seqs(envs) else None

        sink, letters = BatchRecorder(poison_seq_5), Recorder()
        async with running() as bus:
            await bus.start()
            for seq in range(10):
                await bus.publish(work.name, event("task-b", seq))
            await bus.publish_raw(work.name, "task-b", b"{not json")
            await bus.stop()
            _batch(bus).subscribe_batch(work.name, "g-batch-poison", sink)
            bus.subscribe(dead.name, "g-ops", letters)
            await bus.start()
            await wait_until(
                lambda: len(sink.handled) == 9 and len(letters.handled) == 2, timeout=self.timeout, what="9 + 2"
            )
        assert sink.sequences() == {"task-b": [0, 1, 2, 3, 4, 6, 7, 8, 9]}
        reasons = {(letter.data.error_type, letter.data.attempts) for letter in letters.handled}  # type: ignore[attr-defined]
        assert reasons == {("ValueError", 3), ("decode", 1)}, reasons
        alone = [call for call in sink.calls if len(call) == 1 and _seqs([call[0][0]]) == {5}]
        assert [call[0][1].attempt for call in alone][-3:] == [1, 2, 3], "seq 5 alone, up to the attempt limit"

    async def test_a_permanent_error_skips_the_retries_of_the_whole_batch(
        self, running: Running, topics: Topics
    ) -> None:
        work, dead = topics

        def refuse_seq_2(envs: list[Envelope], _: int) -> Exception | None:
            return PermanentError("seq 2 is not allowed") if 2 in _seqs(envs) else None

        sink, letters = BatchRecorder(refuse_seq_2), Recorder()
        async with running() as bus:
            await bus.start()
            for seq in range(4):
                await bus.publish(work.name, event("task-p", seq))
            await bus.stop()
            _batch(bus).subscribe_batch(work.name, "g-batch-perm", sink)
            bus.subscribe(dead.name, "g-ops", letters)
            await bus.start()
            await wait_until(
                lambda: len(sink.handled) == 3 and len(letters.handled) == 1, timeout=self.timeout, what="3 + 1"
            )
        assert sink.sequences() == {"task-p": [0, 1, 3]}
        letter = letters.handled[0].data
        assert isinstance(letter, DeadLettered)
        assert (letter.error_type, letter.attempts) == ("rejected", 1)
        whole = [call for call in sink.calls if len(call) > 1]
        assert len(whole) == 1, "a refused batch is not retried whole"

    async def test_types_not_taken_are_committed_unread(self, running: Running, topics: Topics) -> None:
        """With `types`, other events never reach the handler and are not even decoded: a body that is not
        JSON at all, sent with a type the subscription does not take, is committed, not dead-lettered.
        Without a type beside it (written raw), a message is decoded and filtered by its own type."""
        work, dead = topics
        sink, letters = BatchRecorder(), Recorder()
        other = make_event(TaskQueued(task_id="task-t", queue="q", domain="d", priority=1, sort_key="s"),
                           source="/test", key="task-t")  # fmt: skip
        async with running() as bus:
            await bus.start()
            for seq in range(3):
                await bus.publish(work.name, event("task-t", seq))
                await bus.publish(work.name, other)
                await bus.publish_raw(work.name, "task-t", b"{never parsed", event_type=TaskQueued.event_type)
                await bus.publish_raw(work.name, "task-t", encode(other))  # no type beside it: decoded, then skipped
            await bus.publish(work.name, event("task-t", 3))
            await bus.stop()
            _batch(bus).subscribe_batch(work.name, "g-batch-types", sink, types={TaskReprioritised.event_type})
            bus.subscribe(dead.name, "g-ops-types", letters)
            await bus.start()
            await wait_until(lambda: len(sink.handled) >= 4, timeout=self.timeout, what="4 events")
            await bus.publish(work.name, event("task-t", 4))  # and what comes after them still flows
            await wait_until(lambda: len(sink.handled) >= 5, timeout=self.timeout, what="the 5th")
        assert sink.sequences() == {"task-t": [0, 1, 2, 3, 4]}
        assert {env.type for env in sink.handled} == {TaskReprioritised.event_type}
        assert letters.handled == [], "a type not taken is skipped unread, never dead-lettered"
