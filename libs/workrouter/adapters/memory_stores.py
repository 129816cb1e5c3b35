"""In-memory stores: fakes for unit tests (the embedded mode uses PostgreSQL)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
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

    async def get_many(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], CaptureRecord]:
        """The known ones among `keys`."""
        return {k: self.records[k] for k in keys if k in self.records}

    async def put_many(self, records: Sequence[CaptureRecord]) -> None:
        """Insert or replace each."""
        for record in records:
            await self.put(record)


class MemoryTaskFactsStore:
    """TaskFactsStore in a dict."""

    def __init__(self) -> None:
        self.facts: dict[str, tuple[dict[str, Any], datetime]] = {}

    async def get(self, task_id: str) -> tuple[dict[str, Any], datetime] | None:
        """(facts, captured_at), or None."""
        return self.facts.get(task_id)

    async def put(self, task_id: str, facts: dict[str, Any], captured_at: datetime) -> None:
        """Insert, or replace the facts (the capture time stays the first one, as in PostgreSQL)."""
        known = self.facts.get(task_id)
        self.facts[task_id] = (facts, captured_at if known is None else known[1])

    async def get_many(self, task_ids: Collection[str]) -> dict[str, tuple[dict[str, Any], datetime]]:
        """The known ones among `task_ids`."""
        return {t: self.facts[t] for t in task_ids if t in self.facts}

    async def put_many(self, items: Sequence[tuple[str, dict[str, Any], datetime]]) -> None:
        """Insert or replace each."""
        for task_id, facts, captured_at in items:
            await self.put(task_id, facts, captured_at)
