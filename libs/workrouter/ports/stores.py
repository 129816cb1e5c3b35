"""Storage ports of the capture and prioritiser services."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from workrouter.domain.capture import CaptureRecord


class CaptureStore(Protocol):
    """Capture's memory of (source, external_id) -> task."""

    async def get(self, source: str, external_id: str) -> CaptureRecord | None:
        """The record, or None for an item never captured."""
        ...

    async def put(self, record: CaptureRecord) -> None:
        """Insert or replace the record."""
        ...

    async def get_many(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], CaptureRecord]:
        """The records of those (source, external_id) that were captured, in one round trip."""
        ...

    async def put_many(self, records: Sequence[CaptureRecord]) -> None:
        """Insert or replace several records (each item once) in one round trip."""
        ...


class TaskFactsStore(Protocol):
    """The prioritiser's copy of each task's facts, for re-classification."""

    async def get(self, task_id: str) -> tuple[dict[str, Any], datetime] | None:
        """(facts, captured_at), or None for an unknown task."""
        ...

    async def put(self, task_id: str, facts: dict[str, Any], captured_at: datetime) -> None:
        """Insert or replace a task's facts."""
        ...

    async def get_many(self, task_ids: Collection[str]) -> dict[str, tuple[dict[str, Any], datetime]]:
        """(facts, captured_at) of each known task among `task_ids`, in one round trip."""
        ...

    async def put_many(self, items: Sequence[tuple[str, dict[str, Any], datetime]]) -> None:
        """Insert or replace the facts of several tasks (each task once) in one round trip."""
        ...
