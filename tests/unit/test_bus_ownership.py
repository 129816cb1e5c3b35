"""The ownership gate both buses share: on_assign before handlers, handlers drained before on_revoke."""

from __future__ import annotations

import asyncio

from tests.support.wait import wait_until
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.ownership import PartitionOwnership

FAST = DeliveryPolicy(backoff_seconds=0.01, max_backoff_seconds=0.01)


class Calls:
    """Records the callbacks; on_assign fails its first `failures` calls and can be held open."""

    def __init__(self, failures: int = 0) -> None:
        self.log: list[tuple[str, set[int]]] = []
        self.failures = failures
        self.release = asyncio.Event()
        self.release.set()

    async def on_assign(self, partitions: set[int]) -> None:
        self.log.append(("assign", partitions))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("redis is down")
        await self.release.wait()

    async def on_revoke(self, partitions: set[int]) -> None:
        self.log.append(("revoke", partitions))


def gate(calls: Calls) -> PartitionOwnership:
    return PartitionOwnership("t", "g", on_assign=calls.on_assign, on_revoke=calls.on_revoke, policy=FAST)


async def admitted(ownership: PartitionOwnership, partition: int) -> bool:
    async with ownership.admit(partition) as ours:
        return ours


async def test_a_failing_on_assign_is_retried_and_handlers_wait_for_it() -> None:
    calls = Calls(failures=2)
    ownership = gate(calls)
    ownership.assign({0, 1})
    assert await asyncio.wait_for(admitted(ownership, 1), timeout=5)
    assert calls.log == [("assign", {0, 1})] * 3


async def test_revoke_stops_an_unfinished_on_assign_and_still_tells_on_revoke() -> None:
    calls = Calls()
    calls.release.clear()
    ownership = gate(calls)
    ownership.assign({2})
    waiting = asyncio.create_task(admitted(ownership, 2))
    await wait_until(lambda: calls.log == [("assign", {2})], timeout=5, what="on_assign to start")
    assert await ownership.revoke() == {2}
    assert calls.log == [("assign", {2}), ("revoke", {2})]
    assert not waiting.done(), "nothing is admitted between a revoke and the next assignment"
    ownership.assign({0})
    calls.release.set()
    assert await asyncio.wait_for(waiting, timeout=5) is False, "a message of a partition given away is skipped"


async def test_revoke_waits_for_the_running_handler_then_settles_then_tells() -> None:
    calls = Calls()
    ownership = gate(calls)
    ownership.assign({0})
    order: list[str] = []
    finish = asyncio.Event()

    async def handler() -> None:
        async with ownership.admit(0) as ours:
            assert ours
            order.append("handling")
            await finish.wait()
            order.append("handled")

    async def settle() -> None:
        order.append("settled")

    running = asyncio.create_task(handler())
    await wait_until(lambda: order == ["handling"], timeout=5, what="the handler to start")
    revoking = asyncio.create_task(ownership.revoke(settle=settle))
    await asyncio.sleep(0)
    assert not revoking.done()
    finish.set()
    await asyncio.wait_for(asyncio.gather(running, revoking), timeout=5)
    assert order == ["handling", "handled", "settled"]
    assert calls.log[-1] == ("revoke", {0})


async def test_close_releases_handlers_waiting_at_the_gate() -> None:
    calls = Calls()
    calls.release.clear()
    ownership = gate(calls)
    ownership.assign({0})
    waiting = asyncio.create_task(admitted(ownership, 0))
    await asyncio.sleep(0)
    ownership.close()
    assert await asyncio.wait_for(waiting, timeout=5) is False
    await ownership.revoke()


async def test_an_empty_assignment_calls_nothing_and_opens_the_gate() -> None:
    calls = Calls()
    ownership = gate(calls)
    ownership.assign(set())
    assert await asyncio.wait_for(admitted(ownership, 0), timeout=5) is False
    assert await ownership.revoke() == set()
    assert calls.log == []
