"""Storage ports of the capture and prioritiser services."""

from __future__ import annotations

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


class TaskFactsStore(Protocol):
    """The prioritiser's copy of each task's facts, for re-classification."""

    async def get(self, task_id: str) -> tuple[dict[str, Any], datetime] | None:
        """(facts, captured_at), or None for an unknown task."""
        ...

    async def put(self, task_id: str, facts: dict[str, Any], captured_at: datetime) -> None:
        """Insert or replace a task's facts."""
        ...
