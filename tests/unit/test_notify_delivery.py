"""Delivery with the in-memory store, a real HTTP server on 127.0.0.1 standing in for source systems, and a
hand-set clock."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from tests.support.notifier import captured, completed, event
from tests.support.notifier_delivery import DELIVERY, S, World, ok
from workrouter.domain.notify.retry import RetryPolicy
from workrouter.services.notifier.handlers import handle


async def test_a_completion_is_delivered_once_signed_with_the_key_and_the_stored_body() -> None:
    async with World() as world:
        key = await world.complete("t1")
        assert await world.round() == 1
        (request,) = world.sources.requests["crm"]
        assert request.headers["idempotency-key"] == key
        assert request.headers["workrouter-event"] == "completed"
        assert request.headers["workrouter-attempt"] == "1"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "workrouter-notifier/1"
        assert request.content == world.store.rows[key].body
        assert json.loads(request.content)["task"]["status"] == "completed"
        assert world.sources.bad_signatures == []
        assert world.status(key) == "delivered"
        assert await world.round() == 0  # nothing left


async def test_a_redelivered_completion_makes_no_second_callback() -> None:
    async with World() as world:
        await handle(event(captured("t1")), DELIVERY, world.deps)
        done = event(completed("t1"))
        for _ in range(3):
            await handle(done, DELIVERY, world.deps)
        await world.round()
        assert world.sources.keys("crm") == [done.id]


async def test_failures_are_retried_on_schedule_with_the_same_key_and_body_and_a_fresh_signature() -> None:
    async with World() as world:
        answers = iter(
            [web.Response(status=500, text="database down"), web.Response(status=503), web.Response(status=204)]
        )

        async def flaky(_: web.Request) -> web.Response:
            return next(answers)

        world.sources.replies["crm"] = flaky
        key = await world.complete("t1")
        await world.round()
        row = world.store.rows[key]
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500: database down")
        assert row.next_attempt_at == world.clock() + 0.5 * S  # ceiling 1 s after one attempt, x 0.5
        assert await world.round() == 0  # not due yet
        world.clock.advance(0.5)
        assert await world.round() == 1
        assert world.store.rows[key].next_attempt_at == world.clock() + S  # ceiling 2 s after two attempts, x 0.5
        world.clock.advance(1.0)
        await world.round()
        first, second, third = world.sources.requests["crm"]
        assert {r.headers["idempotency-key"] for r in (first, second, third)} == {key}
        assert first.content == second.content == third.content
        assert first.headers["workrouter-signature"] != third.headers["workrouter-signature"]  # re-signed, new time
        assert [r.headers["workrouter-attempt"] for r in (first, second, third)] == ["1", "2", "3"]
        assert world.status(key) == "delivered"
        assert world.sources.bad_signatures == []


async def test_a_timeout_counts_as_a_failure_and_says_so() -> None:
    async with World(timeout=0.05) as world:

        async def hang(_: web.Request) -> web.Response:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        world.sources.replies["crm"] = hang
        key = await world.complete("t1")
        await world.round()
        row = world.store.rows[key]
        assert row.status == "pending"
        assert row.last_error == "timed out after 0.05 s without a complete answer"


async def test_connection_errors_and_redirects_are_failures() -> None:
    async with World(down={"crm"}) as world:  # nothing listens on crm's port: the connection is refused

        async def moved(_: web.Request) -> web.Response:
            return web.Response(status=301, headers={"location": "https://elsewhere.example/"})

        world.sources.replies["bpm"] = moved
        crm_key, bpm_key = await world.complete("t1"), await world.complete("t2", "bpm")
        await world.round("crm")
        await world.round("bpm")
        crm = world.store.rows[crm_key]
        assert (crm.status, crm.last_status) == ("pending", None)
        assert (crm.last_error or "").startswith("ConnectError: Cannot connect to host 127.0.0.1:"), crm.last_error
        assert "redirect to https://elsewhere.example/ (not followed" in (world.store.rows[bpm_key].last_error or "")


async def test_after_the_limit_a_callback_is_a_dead_letter_that_replay_delivers() -> None:
    async with World(policy=RetryPolicy(max_attempts=3, base_seconds=1.0, cap_seconds=1.0)) as world:
        world.sources.replies["crm"] = lambda _: _respond(502)
        key = await world.complete("t1")
        for _ in range(3):
            await world.round()
            world.clock.advance(1.0)
        (dead,) = await world.store.dead("crm")
        assert (dead.id, dead.attempts, dead.last_status, dead.last_error) == (key, 3, 502, "HTTP 502:")
        assert await world.round() == 0  # dead letters are not retried
        world.sources.replies["crm"] = ok
        await world.store.replay(world.clock(), source="crm")
        await world.round()
        assert world.status(key) == "delivered"
        assert world.sources.keys("crm") == [key] * 4


async def _respond(status: int, **headers: str) -> web.Response:
    return web.Response(status=status, headers=headers)


async def test_retry_after_from_the_source_is_honoured() -> None:
    async with World() as world:
        world.sources.replies["crm"] = lambda _: _respond(429, **{"Retry-After": "7"})
        key = await world.complete("t1")
        start = world.clock()
        await world.round()
        assert world.store.rows[key].next_attempt_at == start + 7 * S


async def test_the_target_comes_from_sources_yaml_never_from_the_task() -> None:
    async with World() as world:
        await world.complete("t1", callback_url="https://evil.example/steal", url="https://evil.example/")
        await world.round()
        (request,) = world.sources.requests["crm"]
        assert request.url == world.targets["crm"].url  # crm's path on the sources' server, as its Target says
