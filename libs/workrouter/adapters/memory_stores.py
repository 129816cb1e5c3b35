"""In-memory stores: fakes for unit tests (the embedded mode uses PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workrouter.domain.capture import CaptureRecord


class MemoryCaptureStore:
    """CaptureStore in a dict."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], CaptureRecord] = {}

    async def get(self, source: str, external_id: str) -> CaptureRecord | None:
        """The record, or None."""
        return self.records.get((source, external_id))

    async def put(self, record: CaptureRecord) -> None:
        """Insert or replace."""
        self.records[(record.source, record.external_id)] = record


class MemoryTaskFactsStore:
    """TaskFactsStore in a dict."""

    def __init__(self) -> None:
        self.facts: dict[str, tuple[dict[str, Any], datetime]] = {}

    async def get(self, task_id: str) -> tuple[dict[str, Any], datetime] | None:
        """(facts, captured_at), or None."""
        return self.facts.get(task_id)

    async def put(self, task_id: str, facts: dict[str, Any], captured_at: datetime) -> None:
        """Insert or replace."""
        self.facts[task_id] = (facts, captured_at)
