"""The /metrics endpoint on the event loop, and `runtime.serve` starting and closing it (loopback only)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge

from tests.support.prometheus import free_port
from tests.support.wait import wait_until_async
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.adapters.metrics_http import MetricsServer
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import serve


async def test_metrics_healthz_404_and_refreshers() -> None:
    registry = CollectorRegistry()
    waiting = Gauge("workrouter_test_waiting", "A gauge the refresher sets.", registry=registry)
    scrapes = 0

    async def refresh() -> None:
        nonlocal scrapes
        scrapes += 1
        waiting.set(scrapes * 10)

    async with MetricsServer("127.0.0.1", 0, registry=registry, refreshers=[refresh]) as server:
        assert server.port > 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            first = await http.get("/metrics")
            assert first.status_code == 200
            assert first.headers["content-type"] == CONTENT_TYPE_LATEST
            assert "workrouter_test_waiting 10.0" in first.text
            assert "workrouter_test_waiting 20.0" in (await http.get("/metrics?x=1")).text  # same connection
            health = await http.get("/healthz")
            assert (health.status_code, health.text) == (200, "ok\n")
            assert (await http.get("/nope")).status_code == 404
            assert (await http.post("/metrics")).status_code == 405
            head = await http.head("/metrics")
            assert head.status_code == 200
            assert head.content == b""
    assert scrapes == 3  # GET, GET, HEAD; never for /healthz or errors


async def test_a_failing_or_slow_refresher_keeps_the_scrape_alive(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    Gauge("workrouter_test_up", "Always there.", registry=registry).set(1)

    async def broken() -> None:
        raise ConnectionError("database down")

    async def slow() -> None:
        await asyncio.sleep(10)

    server = MetricsServer("127.0.0.1", 0, registry=registry, refreshers=[broken, slow], refresh_timeout=0.05)
    async with server, httpx.AsyncClient() as http:
        with caplog.at_level(logging.WARNING):
            response = await http.get(server.url)
    assert response.status_code == 200
    assert "workrouter_test_up 1.0" in response.text
    assert "database down" in caplog.text


async def test_http_1_0_closes_and_garbage_is_refused() -> None:
    async with MetricsServer("127.0.0.1", 0, registry=CollectorRegistry()) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)  # read() returns once the server closes
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"Connection: close" in answer
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"HELLO\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 400")
        writer.close()


async def test_serve_exposes_metrics_while_running_and_closes_the_port_on_stop() -> None:
    names = TopicNames("unit.")
    bus = MemoryBus(names.specs(), deadletter_topic=names.deadletter)
    stop = asyncio.Event()
    port = free_port()
    running = asyncio.create_task(serve("unit", bus, stop=stop, metrics_port=port))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

        async def answers() -> bool:
            try:
                return (await http.get("/metrics")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until_async(answers, timeout=10, what="the metrics endpoint")
        text = (await http.get("/metrics")).text
        assert 'workrouter_service_info{service="unit"' in text
        stop.set()
        await asyncio.wait_for(running, 10)
        with pytest.raises(httpx.ConnectError):
            await http.get("/healthz")


async def test_a_busy_metrics_port_is_logged_and_the_service_runs_without_it(caplog: pytest.LogCaptureFixture) -> None:
    names = TopicNames("unit.")
    bus = MemoryBus(names.specs(), deadletter_topic=names.deadletter)
    stop = asyncio.Event()
    async with MetricsServer("127.0.0.1", 0, registry=CollectorRegistry()) as taken:  # another instance has it
        with caplog.at_level(logging.ERROR):
            running = asyncio.create_task(serve("standby", bus, stop=stop, metrics_port=taken.port))
            await wait_until_async(
                lambda: asyncio.sleep(0, "cannot serve metrics" in caplog.text), timeout=10, what="the error logged"
            )
            assert not running.done()
            stop.set()
            await asyncio.wait_for(running, 10)
