"""The Bus port over Apache Kafka (FastStream on aiokafka).

Offsets are committed only for messages whose handler succeeded (or that were
dead-lettered), in batches (`OffsetCommitter`); a failed attempt seeks the partition
back to the message, so it is redelivered in order, and a consumer that dies leaves
everything after its last commit to the next member of its group.

Partition ownership follows the group's assignment (`kafka_rebalance.OwnershipListener`):
on a rebalance the handler is drained and the handled offsets committed before on_revoke,
and a new assignment's messages wait for on_assign.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from faststream.message import StreamMessage

from workrouter.adapters.kafka_admin import create_topics, list_topics
from workrouter.adapters.kafka_commits import OffsetCommitter
from workrouter.adapters.kafka_headers import TYPE_HEADER, header, headers_for
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.adapters.kafka_rebalance import OwnershipListener
from workrouter.bus.batch_delivery import Incoming, deliver_batch
from workrouter.bus.delivery import SKIPPED, DeliveryPolicy, Verdict, attempt, dead_letter, taking
from workrouter.bus.ownership import PartitionOwnership
from workrouter.bus.port import BatchHandler, Delivery, Handler, PartitionsCallback
from workrouter.contracts.codec import encode
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import ALL_TOPICS, DEADLETTER, TopicSpec

log = logging.getLogger(__name__)


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """FastStream decoder that leaves the body as bytes (our codec decodes it)."""
    return message.body


class _Subscriber(Protocol):
    """What the bus reads of a FastStream Kafka subscriber: its aiokafka consumer once started (a public attribute)."""

    consumer: AIOKafkaConsumer | None


class KafkaBus:
    """The Bus port over Kafka."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topics: Sequence[TopicSpec] = ALL_TOPICS,
        deadletter_topic: str = DEADLETTER.name,
        policy: DeliveryPolicy | None = None,
        options: KafkaOptions | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._deadletter_topic = deadletter_topic
        self._policy = policy or DeliveryPolicy()
        self._options = options or KafkaOptions()
        self._committers: list[OffsetCommitter] = []
        self._owners: list[tuple[PartitionOwnership, OffsetCommitter]] = []
        self._subscriptions: list[tuple[str, _Subscriber, OffsetCommitter]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False
        self._broker = KafkaBroker(
            bootstrap,
            client_id=self._options.client_id,
            acks="all",
            enable_idempotence=True,
            allow_auto_create_topics=False,
            request_timeout_ms=self._options.request_timeout_ms,
            logger=log,
            log_level=logging.DEBUG,
            # The handler reads the raw record itself: FastStream's dependency injection
            # and JSON decoding cost about 1 ms per message and give us nothing here.
            apply_types=False,
        )

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
        """Join `group` on `topic`; a new group starts from the earliest offset, so nothing is missed.

        Each poll's records are handled one at a time, in order, each with the single-delivery policy
        (retried in place, dead-lettered alone), and committed together: one FastStream dispatch per
        poll, not per message (D3's cost per message). Records labelled with a type not in `types`
        are committed unread."""
        committer, ownership, listener = self._member(topic, group, on_assign, on_revoke)
        wanted = None if types is None else frozenset(types)
        handle = taking(handler, wanted)
        options = self._consumer_options(group, listener)
        subscriber = self._broker.subscriber(
            topic, batch=True, max_records=self._options.poll_records, batch_timeout_ms=self._options.poll_wait_ms,
            **options,
        )  # fmt: skip
        self._subscriptions.append((group, subscriber, committer))

        async def on_poll(_: object) -> None:
            message: KafkaMessage = self._broker.context.get_local("message")
            records = message.raw_message
            records = records if isinstance(records, tuple) else (records,)
            consumer = cast(AIOKafkaConsumer, message.consumer)
            async with ownership.admit_many({r.partition for r in records}) as owned:
                for record in records:
                    if record.partition not in owned:
                        continue  # fetched before a rebalance that gave the partition away: its new owner reads it
                    if not await self._deliver(record, consumer, group, handle, committer, wanted):
                        return  # stopping: the rest is not committed, the group's next member gets it
                    if committer.due():  # a long poll commits as it goes (every commit_every, or interval)
                        await committer.flush()
            if self._stopping:
                await committer.flush()

        subscriber(on_poll)

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
        """Join `group` on `topic` with a batch handler: one call per poll of up to `max_records` messages
        (of `types` only, if given: the others are committed unread, by their `ce_type` header).

        With `max_wait_ms` > 0 the broker holds each fetch until that time passed or `batch_fetch_min_bytes`
        are there (Kafka's `fetch.max.wait.ms` / `fetch.min.bytes`), so a sink's batches fill at a low rate
        too: one transaction for many events, and a fraction of the fetch requests. With 0, a poll takes
        what has arrived at once (a service on the path to an offer), as `subscribe` does."""
        wanted = None if types is None else frozenset(types)
        committer, ownership, listener = self._member(topic, group, on_assign, on_revoke)
        options = self._consumer_options(group, listener)
        if max_wait_ms > 0:
            options |= {"fetch_max_wait_ms": max_wait_ms, "fetch_min_bytes": self._options.batch_fetch_min_bytes}
        subscriber = self._broker.subscriber(
            topic, batch=True, max_records=max_records,
            batch_timeout_ms=max_wait_ms if max_wait_ms > 0 else self._options.poll_wait_ms, **options,
        )  # fmt: skip
        self._subscriptions.append((group, subscriber, committer))

        async def on_batch(_: object) -> None:
            message: KafkaMessage = self._broker.context.get_local("message")
            records = message.raw_message
            records = records if isinstance(records, tuple) else (records,)
            async with ownership.admit_many({r.partition for r in records}) as owned:
                mine = [r for r in records if r.partition in owned]
                if mine:
                    consumer = cast(AIOKafkaConsumer, message.consumer)
                    await self._on_batch(mine, consumer, group, handler, committer, wanted)

        subscriber(on_batch)

    def consumers(self) -> list[tuple[str, AIOKafkaConsumer, Mapping[TopicPartition, int]]]:
        """Each started subscription's group, aiokafka consumer and offsets after the last handled message
        per partition: what `kafka_lag` reads (FastStream's subscriber keeps its consumer in `consumer`)."""
        return [
            (group, subscriber.consumer, committer.handled_offsets())
            for group, subscriber, committer in self._subscriptions
            if subscriber.consumer is not None
        ]

    def _member(
        self, topic: str, group: str, on_assign: PartitionsCallback | None, on_revoke: PartitionsCallback | None
    ) -> tuple[OffsetCommitter, PartitionOwnership, OwnershipListener]:
        """The committer, ownership gate and rebalance listener of one subscription."""
        committer = OffsetCommitter(self._options.commit_every, self._options.commit_interval_s)
        ownership = PartitionOwnership(topic, group, on_assign=on_assign, on_revoke=on_revoke, policy=self._policy)
        listener = OwnershipListener(
            topic, ownership, committer, drain_timeout=self._options.drain_timeout_s, stopping=lambda: self._stopping
        )
        self._committers.append(committer)
        self._owners.append((ownership, committer))
        return committer, ownership, listener

    def _consumer_options(self, group: str, listener: OwnershipListener) -> dict[str, Any]:
        return {
            "group_id": group,
            "ack_policy": AckPolicy.MANUAL,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": self._options.session_timeout_ms,
            "heartbeat_interval_ms": self._options.heartbeat_interval_ms,
            "listener": listener,
            "decoder": _raw_body,
        }

    async def start(self) -> None:
        """Create the topics (idempotently), then connect producer and consumers."""
        await self.create_topics()
        self._stopping = False
        await self._broker.start()
        self._flusher = asyncio.create_task(self._flush_periodically(), name="kafka-offset-flusher")

    async def stop(self) -> None:
        """Finish in-flight handlers, commit what they handled, revoke every partition, disconnect."""
        self._stopping = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        # Leaving the group does not call the listener; revoke while still a member, so no
        # one else owns the partitions before on_revoke has run.
        for ownership, committer in self._owners:
            await ownership.revoke(settle=committer.flush, drain_timeout=self._options.drain_timeout_s)
            ownership.close()
        for committer in self._committers:
            await committer.flush()
        await self._broker.stop()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._options.commit_interval_s)
            for committer in self._committers:
                await committer.flush()

    async def publish(self, topic: str, event: Envelope) -> None:
        """Publish an event keyed by its partition key; waits for the broker's ack."""
        await self.publish_raw(topic, event.partitionkey, encode(event), event_type=event.type)

    async def publish_all(self, events: Sequence[tuple[str, Envelope]]) -> None:
        """Hand each to the producer in order (it batches them per partition), then wait for every ack."""
        if len(events) == 1:
            await self.publish(*events[0])
            return
        acks = [
            await self._broker.publish(
                encode(event), topic=topic, key=event.partitionkey.encode(), headers=headers_for(event.type),
                no_confirm=True,
            )
            for topic, event in events
        ]  # fmt: skip
        await asyncio.gather(*acks)

    async def publish_raw(self, topic: str, key: str | None, value: bytes, *, event_type: str | None = None) -> None:
        """Publish bytes as they are; with `event_type`, also as the `ce_type` header (decisions D3)."""
        key_bytes = key.encode() if key is not None else None
        await self._broker.publish(value, topic=topic, key=key_bytes, headers=headers_for(event_type))

    async def list_topics(self) -> set[str]:
        """Topic names on the cluster (internal topics excluded)."""
        return await list_topics(self._bootstrap, self._options.client_id)

    async def create_topics(self, ready_timeout_s: float = 30.0) -> None:
        """Create every configured topic that does not exist yet, and wait until each partition has a leader."""
        await create_topics(
            self._bootstrap, self._topics, self._options.replication_factor, self._options.client_id, ready_timeout_s
        )

    async def _on_batch(  # noqa: PLR0917 - private, called from one place
        self,
        records: list[Any],
        consumer: AIOKafkaConsumer,
        group: str,
        handler: BatchHandler,
        committer: OffsetCommitter,
        wanted: frozenset[str] | None,
    ) -> None:
        """Handle one poll's records (retrying in place); commit them only once every one is settled."""
        messages = [
            Incoming(
                r.value or b"",
                Delivery(r.topic, r.partition, r.offset, r.key.decode(errors="replace") if r.key else None, 1),
                header(r.headers, TYPE_HEADER),
            )
            for r in records
        ]
        settled = await deliver_batch(
            messages, handler, self._policy, running=lambda: not self._stopping, wanted=wanted
        )
        if settled is None:
            return  # stopping: nothing of this batch is committed, the group's next member gets it again
        for item in settled:
            if item.outcome.verdict is Verdict.DEAD_LETTER:
                await self.publish(self._deadletter_topic, dead_letter(item.value, item.delivery, group, item.outcome))
        for r in records:
            committer.handled(consumer, r.topic, r.partition, r.offset)
        if self._stopping or committer.due():
            await committer.flush()

    async def _deliver(  # noqa: PLR0917 - private, called from one place
        self,
        record: Any,
        consumer: AIOKafkaConsumer,
        group: str,
        handler: Handler,
        committer: OffsetCommitter,
        wanted: frozenset[str] | None,
    ) -> bool:
        """Settle one record: handled, dead-lettered or skipped unread, then marked for commit; retried in
        place until then. False if the bus stopped first (the record stays uncommitted)."""
        key = record.key.decode(errors="replace") if record.key is not None else None
        if wanted is not None and (kind := header(record.headers, TYPE_HEADER)) is not None and kind not in wanted:
            SKIPPED.labels(record.topic).inc()
            committer.handled(consumer, record.topic, record.partition, record.offset)
            return True
        tries = 0
        while not self._stopping:
            tries += 1
            delivery = Delivery(record.topic, record.partition, record.offset, key, tries)
            try:
                outcome = await attempt(record.value or b"", delivery, handler, self._policy)
                if outcome.verdict is Verdict.DEAD_LETTER:
                    await self.publish(
                        self._deadletter_topic, dead_letter(record.value or b"", delivery, group, outcome)
                    )
                if outcome.verdict is not Verdict.RETRY:
                    committer.handled(consumer, record.topic, record.partition, record.offset)
                    return True
            except Exception:
                # Dead-lettering failed: never move past the record; try it again.
                log.exception("could not settle %s[%d]@%d; trying again", record.topic, record.partition, record.offset)
            await asyncio.sleep(self._policy.backoff(tries))
        return False
