"""One contract for the EscalationStore port, run against every adapter (in-memory and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workrouter.domain.escalation.timer import Timer
from workrouter.ports.timers import EscalationStore, TimerCounts

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def timer(task_id: str, kind: str, ident: str, due: float, **payload: Any) -> Timer:
    """A timer due `due` seconds after T0."""
    return Timer(task_id, kind, ident, at(due), payload)


def record(version: int = 1) -> dict[str, Any]:
    """A small task record."""
    return {"version": version, "queue": "finance", "history": [{"at": "2026-11-23T09:00:00Z"}]}


async def fire_all(store: EscalationStore, now: datetime, limit: int = 1000) -> list[Timer]:
    """Fire everything due at `now`; return what fired."""
    async with store.firing(now, limit) as timers:
        return timers


class EscalationStoreContract:
    """Subclasses provide `store`, `other` (a second handle on the same data) and `until_blocked`."""

    @pytest.fixture
    def store(self) -> EscalationStore:
        raise NotImplementedError

    @pytest.fixture
    def other(self) -> EscalationStore:
        raise NotImplementedError

    async def until_blocked(self, saving: asyncio.Task[None]) -> None:
        """Return once `saving` waits for the lock a firing block holds."""
        raise NotImplementedError

    async def test_saved_records_load_and_unknown_ids_are_left_out(self, store: EscalationStore) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 60, step=1)])
        await store.save("t2", record(2), [])
        assert await store.load(["t1", "t2", "nope"]) == {"t1": record(1), "t2": record(2)}
        assert await store.load([]) == {}
        assert await store.counts() == TimerCounts(pending=1, fired=0)

    async def test_migrate_runs_twice(self, store: EscalationStore) -> None:
        await store.migrate()
        await store.migrate()

    async def test_a_timer_comes_back_as_saved_with_an_aware_due_time(self, store: EscalationStore) -> None:
        saved = timer("t1", "sla", "v1", 60, step=2, actions=["alert"], nested={"q": "vip"})
        await store.save("t1", record(), [saved])
        [fired] = await fire_all(store, at(60))
        assert fired == saved
        assert fired.due_at.utcoffset() == timedelta(0)

    async def test_same_ident_keeps_a_fired_timer_fired(self, store: EscalationStore) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 60)])
        assert len(await fire_all(store, at(60))) == 1
        await store.save("t1", record(2), [timer("t1", "sla", "v1", 120)])
        assert await store.counts() == TimerCounts(pending=0, fired=1)
        assert await store.next_due() is None
        assert await fire_all(store, at(500)) == []
        assert await store.load(["t1"]) == {"t1": record(2)}

    async def test_same_ident_keeps_the_first_due_time_and_payload(self, store: EscalationStore) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 60, step=1)])
        await store.save("t1", record(2), [timer("t1", "sla", "v1", 120, step=2)])
        assert await store.next_due() == at(60)
        assert await fire_all(store, at(60)) == [timer("t1", "sla", "v1", 60, step=1)]

    async def test_a_new_ident_re_arms_at_its_own_due_time(self, store: EscalationStore) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 60)])
        await fire_all(store, at(60))
        await store.save("t1", record(2), [timer("t1", "sla", "v2", 300, step=2)])
        assert await store.counts() == TimerCounts(pending=1, fired=0)
        assert await store.next_due() == at(300)
        assert await fire_all(store, at(299)) == []
        assert await fire_all(store, at(300)) == [timer("t1", "sla", "v2", 300, step=2)]

    async def test_a_new_ident_replaces_a_pending_timer(self, store: EscalationStore) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 60)])
        await store.save("t1", record(2), [timer("t1", "sla", "v2", 30)])
        await store.save("t1", record(3), [timer("t1", "sla", "v1", 90)])
        assert await fire_all(store, at(1000)) == [timer("t1", "sla", "v1", 90)]
        assert await store.counts() == TimerCounts(pending=0, fired=1)

    async def test_kinds_left_out_are_deleted(self, store: EscalationStore) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 60), timer("t1", "expiry", "v1", 90)])
        await fire_all(store, at(60))
        await store.save("t1", record(2), [timer("t1", "expiry", "v1", 90)])
        assert await store.counts() == TimerCounts(pending=1, fired=0)
        await store.save("t1", record(3), [])
        assert await store.counts() == TimerCounts(pending=0, fired=0)
        assert await store.load(["t1"]) == {"t1": record(3)}

    async def test_record_none_deletes_the_record_and_every_timer(self, store: EscalationStore) -> None:
        await store.save("t1", record(), [timer("t1", "sla", "v1", 10), timer("t1", "expiry", "v1", 90)])
        await store.save("t2", record(), [timer("t2", "sla", "v1", 60)])
        await fire_all(store, at(20))
        await store.save("t1", None, [])
        assert await store.load(["t1", "t2"]) == {"t2": record()}
        assert await store.counts() == TimerCounts(pending=1, fired=0)
        assert [t.task_id for t in await fire_all(store, at(1000))] == ["t2"]
        await store.save("t3", None, [])  # deleting what never existed is fine
        assert await store.load(["t3"]) == {}

    async def test_saves_the_port_forbids_are_refused(self, store: EscalationStore) -> None:
        with pytest.raises(ValueError, match="empty timer set"):
            await store.save("t1", None, [timer("t1", "sla", "v1", 60)])
        with pytest.raises(ValueError, match="one timer of each kind"):
            await store.save("t1", record(), [timer("t1", "sla", "v1", 60), timer("t1", "sla", "v2", 90)])
        with pytest.raises(ValueError, match="naive"):
            await store.save("t1", record(), [Timer("t1", "sla", "v1", datetime(2026, 1, 1), {})])
        with pytest.raises(ValueError, match="belongs to task t2"):
            await store.save("t1", record(), [timer("t2", "sla", "v1", 60)])
        assert await store.load(["t1"]) == {}

    async def test_firing_yields_due_timers_earliest_first_up_to_the_limit(self, store: EscalationStore) -> None:
        dues = {"a": 50, "b": 10, "c": 40, "d": 20, "e": 30, "f": 70}
        for task_id, due in dues.items():
            await store.save(task_id, record(), [timer(task_id, "sla", "v1", due)])
        async with store.firing(at(45), 3) as first:
            assert [t.task_id for t in first] == ["b", "d", "e"]
        async with store.firing(at(45), 3) as second:
            assert [t.task_id for t in second] == ["c"]
        assert await store.next_due() == at(50)
        assert await store.counts() == TimerCounts(pending=2, fired=4)

    async def test_an_exception_in_the_firing_block_leaves_the_timers_pending(self, store: EscalationStore) -> None:
        await store.save("t1", record(), [timer("t1", "sla", "v1", 10), timer("t1", "expiry", "v1", 20)])

        async def fail_midway() -> None:
            async with store.firing(at(30), 10) as timers:
                assert len(timers) == 2
                raise RuntimeError("publish failed")

        with pytest.raises(RuntimeError, match="publish failed"):
            await fail_midway()
        assert await store.counts() == TimerCounts(pending=2, fired=0)
        assert await store.next_due() == at(10)
        assert [t.kind for t in await fire_all(store, at(30))] == ["sla", "expiry"]

    async def test_concurrent_firing_blocks_never_yield_the_same_timer(
        self, store: EscalationStore, other: EscalationStore
    ) -> None:
        await store.save_many([(f"t{i:02d}", record(), [timer(f"t{i:02d}", "sla", "v1", i)]) for i in range(20)])
        async with store.firing(at(100), 8) as first, other.firing(at(100), 100) as second:
            assert len(first) == 8
            assert len(second) == 12
            assert not {t.task_id for t in first} & {t.task_id for t in second}
            async with other.firing(at(100), 100) as third:
                assert third == []
        assert await store.counts() == TimerCounts(pending=0, fired=20)

    async def test_next_due_counts_timers_locked_by_a_firing_block_as_pending(self, store: EscalationStore) -> None:
        await store.save("t1", record(), [timer("t1", "sla", "v1", 10), timer("t1", "expiry", "v1", 20)])
        async with store.firing(at(15), 10):
            assert await store.next_due() == at(10)
        assert await store.next_due() == at(20)

    async def test_a_save_waits_for_the_firing_block_then_keeps_the_timer_fired(
        self, store: EscalationStore, other: EscalationStore
    ) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 10)])
        async with store.firing(at(10), 10) as timers:
            assert len(timers) == 1
            saving = asyncio.create_task(other.save("t1", record(2), [timer("t1", "sla", "v1", 10)]))
            await self.until_blocked(saving)
            assert not saving.done()
        await asyncio.wait_for(saving, 10)
        assert await store.counts() == TimerCounts(pending=0, fired=1)
        assert await store.load(["t1"]) == {"t1": record(2)}

    async def test_a_save_with_a_new_ident_racing_a_firing_block_re_arms_after_it(
        self, store: EscalationStore, other: EscalationStore
    ) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 10)])
        async with store.firing(at(10), 10):
            saving = asyncio.create_task(other.save("t1", record(2), [timer("t1", "sla", "v2", 50)]))
            await self.until_blocked(saving)
            assert not saving.done()
        await asyncio.wait_for(saving, 10)
        assert await store.counts() == TimerCounts(pending=1, fired=0)
        assert await fire_all(store, at(50)) == [timer("t1", "sla", "v2", 50)]

    async def test_next_due_ignores_fired_timers(self, store: EscalationStore) -> None:
        assert await store.next_due() is None
        await store.save("t1", record(), [timer("t1", "sla", "v1", 10), timer("t1", "expiry", "v1", 20)])
        await store.save("t2", record(), [timer("t2", "sla", "v1", 15)])
        await fire_all(store, at(12))
        assert await store.next_due() == at(15)
        await fire_all(store, at(20))
        assert await store.next_due() is None

    async def test_counts_split_pending_and_fired(self, store: EscalationStore) -> None:
        assert await store.counts() == TimerCounts(pending=0, fired=0)
        await store.save("t1", record(), [timer("t1", "sla", "v1", 10), timer("t1", "expiry", "v1", 20)])
        await store.save("t2", record(), [timer("t2", "wake", "v1", 30)])
        await fire_all(store, at(25))
        assert await store.counts() == TimerCounts(pending=1, fired=2)

    async def test_save_many_of_thousands_of_tasks(self, store: EscalationStore) -> None:
        n = 3000
        await store.save_many(
            [
                (f"t{i}", record(), [timer(f"t{i}", "sla", "v1", i), timer(f"t{i}", "expiry", "v1", n + i)])
                for i in range(n)
            ]
        )
        assert await store.counts() == TimerCounts(pending=2 * n, fired=0)
        assert len(await fire_all(store, at(999), limit=10_000)) == 1000
        # the first thousand fired: keep them; re-arm the second thousand's sla; the third thousand closes
        await store.save_many(
            [(f"t{i}", record(2), [timer(f"t{i}", "sla", "v1", i)]) for i in range(1000)]
            + [(f"t{i}", record(2), [timer(f"t{i}", "sla", "v2", 10 * n)]) for i in range(1000, 2000)]
            + [(f"t{i}", None, []) for i in range(2000, n)]
        )
        assert await store.counts() == TimerCounts(pending=1000, fired=1000)
        assert len(await store.load([f"t{i}" for i in range(n)])) == 2000
        assert await store.next_due() == at(10 * n)

    async def test_save_many_applies_two_saves_of_one_task_in_order(self, store: EscalationStore) -> None:
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 10)])
        await fire_all(store, at(10))
        await store.save_many(
            [
                ("t1", record(2), [timer("t1", "sla", "v2", 20)]),
                ("t2", record(1), []),
                ("t1", record(3), [timer("t1", "sla", "v1", 30)]),
            ]
        )
        assert await store.load(["t1", "t2"]) == {"t1": record(3), "t2": record(1)}
        assert await fire_all(store, at(100)) == [timer("t1", "sla", "v1", 30)]

    async def test_a_large_save_many_applies_two_saves_of_one_task_in_order(self, store: EscalationStore) -> None:
        filler = [(f"f{i}", record(), [timer(f"f{i}", "sla", "v1", 1000 + i)]) for i in range(1500)]
        moved = [(f"f{i}", record(2), [timer(f"f{i}", "sla", "v2", 500)]) for i in range(1500)]
        await store.save_many([*filler, ("gone", record(), [timer("gone", "sla", "v1", 5)])])
        await store.save("t1", record(1), [timer("t1", "sla", "v1", 10), timer("t1", "wake", "v1", 20)])
        await fire_all(store, at(10))
        await store.save_many(
            [
                ("t1", record(2), [timer("t1", "sla", "v2", 20)]),
                *filler,
                ("gone", None, []),
                ("t1", record(3), [timer("t1", "sla", "v1", 30), timer("t1", "expiry", "v1", 40)]),
                *moved,
            ]
        )
        assert await store.load(["t1", "gone", "f7"]) == {"t1": record(3), "f7": record(2)}
        assert await store.counts() == TimerCounts(pending=1502, fired=0)
        assert await fire_all(store, at(100)) == [timer("t1", "sla", "v1", 30), timer("t1", "expiry", "v1", 40)]
        assert await store.next_due() == at(500)

    async def test_a_save_many_that_cannot_be_encoded_saves_nothing(self, store: EscalationStore) -> None:
        items = [(f"t{i}", record(), [timer(f"t{i}", "sla", "v1", i)]) for i in range(2000)]
        items[1500] = ("t1500", record(), [timer("t1500", "sla", "v1", 1, bad={1, 2})])  # a set is not JSON
        with pytest.raises(TypeError, match="not JSON serializable"):
            await store.save_many(items)
        assert await store.counts() == TimerCounts(pending=0, fired=0)
        assert await store.load(["t0", "t1999"]) == {}
        await store.save_many(items[:1500])  # and the store works on
        assert await store.counts() == TimerCounts(pending=1500, fired=0)
