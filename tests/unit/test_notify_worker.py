"""The delivery loops running on their own: a hung source, a lost lease, store errors (in memory, a local HTTP
server)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from tests.support.notifier_delivery import World
from tests.support.wait import wait_until


async def test_a_hung_source_delays_only_its_own_callbacks() -> None:
    released = asyncio.Event()

    async def hang(_: web.Request) -> web.Response:
        await released.wait()
        return web.Response(status=200)

    async with World(timeout=3600.0, concurrency=2) as world:
        world.sources.replies["crm"] = hang
        crm = [await world.complete(f"c{i}") for i in range(6)]
        bpm = [await world.complete(f"b{i}", "bpm") for i in range(20)]
        running = asyncio.create_task(world.dispatcher.run())
        try:
            await wait_until(lambda: all(world.status(k) == "delivered" for k in bpm), timeout=10, what="bpm delivered")
            assert world.dispatcher.workers["crm"].busy == 2  # crm holds its own two slots, and no more
            assert [world.status(k) for k in crm].count("pending") == 6
            released.set()
            await wait_until(lambda: all(world.status(k) == "delivered" for k in crm), timeout=10, what="crm delivered")
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        assert sorted(world.sources.keys("crm")) == sorted(crm)
        assert sorted(world.sources.keys("bpm")) == sorted(bpm)


async def test_an_outcome_after_a_lost_lease_is_not_recorded() -> None:
    async with World() as world:
        key = await world.complete("t1")
        worker = world.dispatcher.workers["crm"]
        (stale,) = await world.store.claim("crm", world.clock(), 1, 1.0)
        world.clock.advance(2.0)
        (fresh,) = await world.store.claim("crm", world.clock(), 1, 30.0)  # another instance took it over
        await worker.deliver(stale)
        assert world.sources.keys("crm") == [key]  # sent, and acknowledged by the source
        assert world.store.rows[key].claim == fresh.claim
        assert world.status(key) == "pending"


async def test_store_errors_are_survived_with_a_backoff() -> None:
    async with World() as world:
        key = await world.complete("t1")
        real_claim = world.store.claim
        failures = iter([True, True])

        async def flaky_claim(*args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
            if next(failures, False):
                raise ConnectionError("database restarting")
            return await real_claim(*args, **kwargs)  # type: ignore[arg-type]

        world.store.claim = flaky_claim  # type: ignore[method-assign]
        running = asyncio.create_task(world.dispatcher.workers["crm"].run())
        try:
            await wait_until(lambda: world.status(key) == "delivered", timeout=10, what="delivery after the errors")
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)


@pytest.mark.parametrize("concurrency", [0, -1])
async def test_a_worker_needs_at_least_one_slot(concurrency: int) -> None:
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        async with World(concurrency=concurrency):
            pass
