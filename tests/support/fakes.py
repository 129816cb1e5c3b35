"""Fakes for unit tests: a bus that records what was published."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from workrouter.bus.port import Handler, PartitionsCallback
from workrouter.contracts.envelope import Envelope


class RecordingBus:
    """A Bus that only records publishes (topic, envelope)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Envelope]] = []
        self.raw: list[tuple[str, str | None, bytes]] = []

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
        """Not used by these tests."""

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def publish(self, topic: str, event: Envelope) -> None:
        """Record the event."""
        self.published.append((topic, event))

    async def publish_all(self, events: Sequence[tuple[str, Envelope]]) -> None:
        """Record each, in order, through `publish` (so a subclass that fails one fails there, as a broker
        refusing one record of a batch would, with the records before it sent)."""
        for topic, event in events:
            await self.publish(topic, event)

    async def publish_raw(self, topic: str, key: str | None, value: bytes, *, event_type: str | None = None) -> None:
        """Record the bytes."""
        self.raw.append((topic, key, value))

    async def list_topics(self) -> set[str]:
        """No topics."""
        return set()

    def types(self, topic: str | None = None) -> list[str]:
        """Event types published (to `topic`, if given), in order."""
        return [e.type for t, e in self.published if topic is None or t == topic]
