"""The capture and prioritiser stores' contracts (CaptureStore, TaskFactsStore), run on the in-memory twins
and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from workrouter.domain.capture import CaptureRecord
from workrouter.ports.stores import CaptureStore, TaskFactsStore

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
T1, T2, UNKNOWN = (str(uuid.UUID(int=n)) for n in (1, 2, 3))  # task ids are UUIDs


class FactsStoreContract:
    """Mixed into a test class that provides a `store` fixture (a fresh, migrated store)."""

    async def test_put_then_get(self, store: TaskFactsStore) -> None:
        assert await store.get(T1) is None
        await store.put(T1, {"type": "x", "_applied": ["e1"]}, AT)
        assert await store.get(T1) == ({"type": "x", "_applied": ["e1"]}, AT)
        await store.put(T1, {"type": "y"}, AT + timedelta(hours=1))
        assert await store.get(T1) == ({"type": "y"}, AT)  # the capture time is the first one

    async def test_get_many_finds_the_known_ones_only(self, store: TaskFactsStore) -> None:
        await store.put(T1, {"n": 1}, AT)
        await store.put(T2, {"n": 2}, AT + timedelta(seconds=1))
        assert await store.get_many([T1, T2, UNKNOWN]) == {
            T1: ({"n": 1}, AT),
            T2: ({"n": 2}, AT + timedelta(seconds=1)),
        }
        assert await store.get_many([]) == {}
        assert await store.get_many(["not-a-task-id", T1]) == {T1: ({"n": 1}, AT)}

    async def test_put_many_inserts_and_replaces_in_one_go(self, store: TaskFactsStore) -> None:
        await store.put(T1, {"n": 1}, AT)
        await store.put_many([(T1, {"n": 10}, AT + timedelta(hours=1)), (T2, {"n": 2, "s": "é\u2028"}, AT)])
        assert await store.get(T1) == ({"n": 10}, AT)  # replaced facts; the capture time stays
        assert await store.get(T2) == ({"n": 2, "s": "é\u2028"}, AT)
        await store.put_many([])
        assert len(await store.get_many([T1, T2])) == 2


def record(external_id: str, n: int, status: str = "open") -> CaptureRecord:
    task_id = str(uuid.uuid5(uuid.NAMESPACE_URL, external_id))
    return CaptureRecord("crm", external_id, task_id, f"fp{n}", {"title": f"T{n}", "s": "é"}, status, n)  # type: ignore[arg-type]


class CaptureStoreContract:
    """Mixed into a test class that provides a `captures` fixture (a fresh, migrated CaptureStore)."""

    async def test_get_many_and_put_many(self, captures: CaptureStore) -> None:
        await captures.put(record("A", 1))
        assert await captures.get_many([("crm", "A"), ("crm", "B"), ("erp", "A")]) == {("crm", "A"): record("A", 1)}
        await captures.put_many([record("A", 2, "cancelled"), record("B", 1)])
        assert await captures.get("crm", "A") == record("A", 2, "cancelled")
        assert await captures.get_many([("crm", "A"), ("crm", "B")]) == {
            ("crm", "A"): record("A", 2, "cancelled"),
            ("crm", "B"): record("B", 1),
        }
        assert await captures.get_many([]) == {}
        await captures.put_many([])
