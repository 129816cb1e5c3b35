"""The bus port: what services need from a message broker, whichever one it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from workrouter.contracts.envelope import Envelope


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a message came from, for handlers that care (idempotency, logging)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    attempt: int


Handler = Callable[[Envelope, Delivery], Awaitable[None]]
BatchHandler = Callable[[Sequence[tuple[Envelope, Delivery]]], Awaitable[None]]
"""Handles the decoded messages of one poll (in order per partition); returns once they are durable."""
PartitionsCallback = Callable[[set[int]], Awaitable[None]]
"""Told the partition numbers (of the subscribed topic) a subscription gained or lost."""


class PermanentError(Exception):
    """Raised by a handler for a message that will never succeed: dead-letter it now, do not retry."""


class Bus(Protocol):
    """Keyed publish and consumer-group subscribe with at-least-once, in-order-per-key delivery.

    A handler that returns normally commits the message. One that raises is retried
    (redelivered) up to the subscription's attempt limit, then dead-lettered; one that
    raises PermanentError, or a message that cannot be decoded, is dead-lettered at once.

    Partition ownership: a subscription may pass `on_assign` and `on_revoke`. on_assign gets
    the partitions it now owns; no message of those partitions reaches the handler before
    on_assign has returned (a failing on_assign is retried with the delivery backoff, and the
    handler waits). on_revoke gets the partitions it lost, once no handler is running and the
    handled offsets are committed; it also comes when the bus stops. Neither is called with
    an empty set. On Kafka every rebalance revokes the whole assignment before the group
    re-forms, then assigns the new one (eager rebalancing), so a partition kept across a
    rebalance is revoked and assigned again; a member that was cut off from its group (session
    timeout) gets on_revoke only when it rejoins, when another member may already own them.
    """

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
        """Register a handler for a topic in a consumer group (before start), with optional ownership callbacks.
        With `types`, only events of those types reach it; the others are committed unread."""
        ...

    async def start(self) -> None:
        """Create the configured topics, connect, and start consuming."""
        ...

    async def stop(self) -> None:
        """Finish in-flight handlers, commit, disconnect."""
        ...

    async def publish(self, topic: str, event: Envelope) -> None:
        """Publish an event keyed by its `partitionkey`; returns once the broker has it."""
        ...

    async def publish_all(self, events: Sequence[tuple[str, Envelope]]) -> None:
        """Publish (topic, event) pairs in this order (so in order per key); returns once the broker has every
        one. They travel together: one request per partition's batch, not a round trip each."""
        ...

    async def publish_raw(self, topic: str, key: str | None, value: bytes, *, event_type: str | None = None) -> None:
        """Publish bytes as they are (source systems, replays, tests of bad input); `event_type`, when the
        bytes are an event, travels beside them so consumers can skip types they do not take unread."""
        ...

    async def list_topics(self) -> set[str]:
        """Names of the topics that exist on the broker."""
        ...


class BatchBus(Bus, Protocol):
    """A bus that also takes batch subscriptions (both adapters do); sinks such as the event log need it."""

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
        """Register a batch handler: up to `max_records` messages a call, committed after it returns.

        `on_assign` and `on_revoke` are called as for `subscribe` (no batch of a partition is handled before
        on_assign has returned for it; a revoke waits for the running batch).

        With `types`, only events of those types reach the handler; the others are committed unread
        (by the type the transport carries beside the body, without parsing it, where it has one).
        `max_wait_ms` is how long a poll may wait to fill a batch (sinks); 0 takes what has arrived at once.

        A message that cannot be decoded, or that the handler keeps failing on when given it
        alone, is dead-lettered by itself (workrouter.bus.batch_delivery); the rest are handled.
        """
        ...
