"""The bus port: what services need from a message broker, whichever one it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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


class PermanentError(Exception):
    """Raised by a handler for a message that will never succeed: dead-letter it now, do not retry."""


class Bus(Protocol):
    """Keyed publish and consumer-group subscribe with at-least-once, in-order-per-key delivery.

    A handler that returns normally commits the message. One that raises is retried
    (redelivered) up to the subscription's attempt limit, then dead-lettered; one that
    raises PermanentError, or a message that cannot be decoded, is dead-lettered at once.
    """

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        """Register a handler for a topic in a consumer group (before start)."""
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

    async def publish_raw(self, topic: str, key: str | None, value: bytes) -> None:
        """Publish bytes as they are (source systems, replays, tests of bad input)."""
        ...

    async def list_topics(self) -> set[str]:
        """Names of the topics that exist on the broker."""
        ...
