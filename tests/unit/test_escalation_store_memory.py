"""The escalation store contract on the in-memory adapter, plus what only it promises."""

from __future__ import annotations

import asyncio

import pytest

from tests.contracts.escalation_store_contract import EscalationStoreContract, at, fire_all, record, timer
from workrouter.adapters.memory_escalation_store import MemoryEscalationStore
from workrouter.ports.timers import EscalationStore, TimerCounts


class TestMemoryEscalationStoreContract(EscalationStoreContract):
    @pytest.fixture
    def memory(self) -> MemoryEscalationStore:
        return MemoryEscalationStore()

    @pytest.fixture
    def store(self, memory: MemoryEscalationStore) -> EscalationStore:
        return memory

    @pytest.fixture
    def other(self, memory: MemoryEscalationStore) -> EscalationStore:
        return memory  # one process, one store: "another handle" is the same object

    async def until_blocked(self, saving: asyncio.Task[None]) -> None:
        for _ in range(10):  # the save runs until it waits on the condition, then stays there
            await asyncio.sleep(0)


async def test_records_and_payloads_are_copies() -> None:
    store = MemoryEscalationStore()
    mine = record()
    saved = timer("t1", "sla", "v1", 10, actions=["alert"])
    await store.save("t1", mine, [saved])
    mine["queue"] = "changed"
    saved.payload["actions"].append("park")
    (await store.load(["t1"]))["t1"]["queue"] = "changed again"
    assert await store.load(["t1"]) == {"t1": record()}
    assert await fire_all(store, at(10)) == [timer("t1", "sla", "v1", 10, actions=["alert"])]


async def test_a_cancelled_firing_block_leaves_its_timers_pending() -> None:
    store = MemoryEscalationStore()
    await store.save("t1", record(), [timer("t1", "sla", "v1", 10)])
    entered = asyncio.Event()

    async def fire_slowly() -> None:
        async with store.firing(at(10), 10):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(fire_slowly())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.counts() == TimerCounts(pending=1, fired=0)
    assert len(await fire_all(store, at(10))) == 1


async def test_a_timer_saved_away_and_back_to_its_ident_fires_once() -> None:
    store = MemoryEscalationStore()
    await store.save("t1", record(), [timer("t1", "sla", "v1", 10)])
    await store.save("t1", record(), [timer("t1", "sla", "v2", 10)])
    await store.save("t1", record(), [timer("t1", "sla", "v1", 10)])  # three heap entries, one timer
    async with store.firing(at(10), 10) as first, store.firing(at(10), 10) as second:
        assert (len(first), second) == (1, [])
    assert await fire_all(store, at(10)) == []
    assert await store.counts() == TimerCounts(pending=0, fired=1)
