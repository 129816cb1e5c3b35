"""The loops' shared halves: back-off after failures, sleep until due or poked."""

from __future__ import annotations

import asyncio

import pytest

from workrouter.runtime.loops import Backoff, sleep_until_poked, stop_if_cancelled


def test_backoff_doubles_from_first_up_to_the_cap_and_starts_again_after_a_success() -> None:
    backoff = Backoff(first=0.1, cap=0.5)
    assert [backoff.failed() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert backoff.failures == 5
    backoff.succeeded()
    assert (backoff.failures, backoff.failed()) == (0, 0.1)


async def test_sleep_until_poked_wakes_on_the_poke_or_after_the_time() -> None:
    poke = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await sleep_until_poked(poke, 0.05) is False
    assert loop.time() - started >= 0.05
    loop.call_later(0.01, poke.set)
    started = loop.time()
    assert await sleep_until_poked(poke, 30) is True
    assert loop.time() - started < 5
    assert await sleep_until_poked(poke, 0) is True  # already poked: no wait
    poke.clear()
    assert await sleep_until_poked(poke, -1) is False  # overdue: no wait


async def test_a_cancel_while_sleeping_is_not_swallowed() -> None:
    poke = asyncio.Event()
    sleeper = asyncio.create_task(sleep_until_poked(poke, 30))
    await asyncio.sleep(0.01)
    sleeper.cancel()
    poke.set()  # a wake-up meeting the cancel
    with pytest.raises(asyncio.CancelledError):
        await sleeper


async def test_a_loop_stops_even_when_a_library_swallowed_its_cancellation() -> None:
    """redis-py 8.2 can answer a command cancelled mid-flight with ConnectionError, or return as if nothing
    happened; a retrying loop then ran on, and whoever awaited the cancelled task waited forever."""
    rounds = 0

    async def swallowing_call() -> None:
        try:
            await asyncio.Event().wait()  # until cancelled
        except asyncio.CancelledError:
            return  # what the library did

    async def loop() -> None:
        nonlocal rounds
        while True:
            stop_if_cancelled()
            rounds += 1
            await swallowing_call()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 2.0)
    assert task.cancelled()
    assert rounds == 1  # the round that swallowed the cancel; the check at the head of the next stopped it


async def test_the_check_lets_a_loop_that_was_not_cancelled_go_on() -> None:
    stop_if_cancelled()  # no task asked to stop: nothing raised
