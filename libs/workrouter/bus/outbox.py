"""A Bus that keeps what a handler publishes, in order, so that a poll's publications go out together."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from workrouter.bus.port import BatchHandler, Handler, PartitionsCallback
from workrouter.contracts.envelope import Envelope


class Outbox:
    """A Bus whose publishes are kept, in order, until the poll's end; nothing else is allowed."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Envelope]] = []

    async def publish(self, topic: str, event: Envelope) -> None:
        """Kept."""
        self.events.append((topic, event))

    async def publish_all(self, events: Sequence[tuple[str, Envelope]]) -> None:
        """Kept."""
        self.events.extend(events)

    async def publish_raw(self, topic: str, key: str | None, value: bytes, *, event_type: str | None = None) -> None:
        """Not for handlers of a poll."""
        raise NotImplementedError("the prioritiser publishes envelopes only")

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
        """Not for handlers of a poll."""
        raise NotImplementedError("an outbox only publishes")

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
        """Not for handlers of a poll."""
        raise NotImplementedError("an outbox only publishes")

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def list_topics(self) -> set[str]:
        """None."""
        return set()
