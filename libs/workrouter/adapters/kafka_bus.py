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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from faststream.message import StreamMessage

from workrouter.adapters.kafka_commits import OffsetCommitter
from workrouter.adapters.kafka_rebalance import OwnershipListener
from workrouter.bus.batch_delivery import deliver_batch
from workrouter.bus.delivery import DeliveryPolicy, Verdict, attempt, dead_letter
from workrouter.bus.ownership import PartitionOwnership
from workrouter.bus.port import BatchHandler, Delivery, Handler, PartitionsCallback
from workrouter.contracts.codec import encode
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import ALL_TOPICS, DEADLETTER, TopicSpec

log = logging.getLogger(__name__)
CLOUDEVENTS_JSON = "application/cloudevents+json; charset=UTF-8"


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """FastStream decoder that leaves the body as bytes (our codec decodes it)."""
    return message.body


class KafkaUnreachableError(ConnectionError):
    """No broker answered at the bootstrap address."""


@dataclass(frozen=True, slots=True)
class KafkaOptions:
    """Connection and consumer-group tuning."""

    client_id: str = "workrouter"
    replication_factor: int = 1
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 30_000
    commit_every: int = 500
    commit_interval_s: float = 0.2
    drain_timeout_s: float = 20.0  # how long a revoke waits for a running handler (below the rebalance timeout)


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
        self._tries: dict[tuple[str, str, int, int], int] = {}
        self._committers: list[OffsetCommitter] = []
        self._owners: list[tuple[PartitionOwnership, OffsetCommitter]] = []
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
    ) -> None:
        """Join `group` on `topic`; a new group starts from the earliest offset, so nothing is missed."""
        committer, ownership, listener = self._member(topic, group, on_assign, on_revoke)
        subscriber = self._broker.subscriber(topic, **self._consumer_options(group, listener))

        async def on_message(_: bytes) -> None:
            message: KafkaMessage = self._broker.context.get_local("message")
            record = message.raw_message
            assert not isinstance(record, tuple)  # single-message subscribers only
            async with ownership.admit(record.partition) as ours:
                if ours:
                    await self._on_message(message, group, handler, committer)
                # else: fetched before a rebalance that gave the partition away: its new owner reads it

        subscriber(on_message)

    def subscribe_batch(
        self, topic: str, group: str, handler: BatchHandler, *, max_records: int = 500, max_wait_ms: int = 200
    ) -> None:
        """Join `group` on `topic` with a batch handler: one call per poll of up to `max_records` messages."""
        committer, ownership, listener = self._member(topic, group, None, None)
        options = self._consumer_options(group, listener)
        subscriber = self._broker.subscriber(
            topic, batch=True, max_records=max_records, batch_timeout_ms=max_wait_ms, **options
        )

        async def on_batch(_: object) -> None:
            message: KafkaMessage = self._broker.context.get_local("message")
            records = message.raw_message
            records = records if isinstance(records, tuple) else (records,)
            async with ownership.admit_many({r.partition for r in records}) as owned:
                mine = [r for r in records if r.partition in owned]
                if mine:
                    await self._on_batch(mine, cast(AIOKafkaConsumer, message.consumer), group, handler, committer)

        subscriber(on_batch)

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
        await self.publish_raw(topic, event.partitionkey, encode(event))

    async def publish_raw(self, topic: str, key: str | None, value: bytes) -> None:
        """Publish bytes as they are."""
        await self._broker.publish(
            value,
            topic=topic,
            key=key.encode() if key is not None else None,
            headers={"content-type": CLOUDEVENTS_JSON},
        )

    async def _admin(self) -> AIOKafkaAdminClient:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=self._options.client_id)
        try:
            await admin.start()
        except KafkaConnectionError as exc:
            await admin.close()
            raise KafkaUnreachableError(
                f"cannot reach Kafka at {self._bootstrap} ({exc}); start it with `make infra-up` "
                "or set WR_BROKER_URL=kafka://host:port to a running broker"
            ) from exc
        return admin

    async def list_topics(self) -> set[str]:
        """Topic names on the cluster (internal topics excluded)."""
        admin = await self._admin()
        try:
            return {t for t in await admin.list_topics() if not t.startswith("__")}
        finally:
            await admin.close()

    async def create_topics(self, ready_timeout_s: float = 30.0) -> None:
        """Create every configured topic that does not exist yet, and wait until each partition has a leader."""
        admin = await self._admin()
        try:
            existing = set(await admin.list_topics())
            missing = [
                NewTopic(t.name, num_partitions=t.partitions, replication_factor=self._options.replication_factor)
                for t in self._topics
                if t.name not in existing
            ]
            if missing:
                # Another process may create them between our list and create.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(missing)
                log.info("created topics %s", [t.name for t in missing])
            # Also when another process created them a moment ago: leaders may still be electing.
            await self._wait_for_leaders(admin, [t.name for t in self._topics], ready_timeout_s)
        finally:
            await admin.close()

    @staticmethod
    async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float) -> None:
        """Consumers that start before a new partition has a leader log errors and retry; wait instead."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            described = await admin.describe_topics(names)
            leaderless = [
                t["topic"]
                for t in described
                if t["error_code"] or not t["partitions"] or any(p["leader"] < 0 for p in t["partitions"])
            ]
            if not leaderless:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise KafkaUnreachableError(f"topics {leaderless} have no partition leaders after {timeout_s:.0f}s")
            await asyncio.sleep(0.1)

    async def _on_batch(
        self,
        records: list[Any],
        consumer: AIOKafkaConsumer,
        group: str,
        handler: BatchHandler,
        committer: OffsetCommitter,
    ) -> None:
        """Handle one poll's records (retrying in place); commit them only once every one is settled."""
        messages = [
            (
                r.value or b"",
                Delivery(r.topic, r.partition, r.offset, r.key.decode(errors="replace") if r.key else None, 1),
            )
            for r in records
        ]
        settled = await deliver_batch(messages, handler, self._policy, running=lambda: not self._stopping)
        if settled is None:
            return  # stopping: nothing of this batch is committed, the group's next member gets it again
        for item in settled:
            if item.outcome.verdict is Verdict.DEAD_LETTER:
                await self.publish(self._deadletter_topic, dead_letter(item.value, item.delivery, group, item.outcome))
        for r in records:
            committer.handled(consumer, r.topic, r.partition, r.offset)
        if self._stopping or committer.due():
            await committer.flush()

    async def _on_message(
        self, message: KafkaMessage, group: str, handler: Handler, committer: OffsetCommitter
    ) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)  # single-message subscribers only
        position = (group, record.topic, record.partition, record.offset)
        tries = self._tries.get(position, 0) + 1
        key = record.key.decode(errors="replace") if record.key is not None else None
        delivery = Delivery(record.topic, record.partition, record.offset, key, tries)
        try:
            outcome = await attempt(record.value or b"", delivery, handler, self._policy)
            if outcome.verdict is Verdict.DEAD_LETTER:
                await self.publish(self._deadletter_topic, dead_letter(record.value or b"", delivery, group, outcome))
            if outcome.verdict is not Verdict.RETRY:
                self._tries.pop(position, None)
                consumer = cast(AIOKafkaConsumer, message.consumer)
                committer.handled(consumer, record.topic, record.partition, record.offset)
                if self._stopping or committer.due():
                    await committer.flush()
                return
        except Exception:
            # Acking or dead-lettering failed: never move past the message; try it again.
            log.exception("could not settle %s[%d]@%d; will redeliver", record.topic, record.partition, record.offset)
        self._tries[position] = tries
        await asyncio.sleep(self._policy.backoff(tries))
        await message.nack()  # seek back: the same message comes again, order kept
