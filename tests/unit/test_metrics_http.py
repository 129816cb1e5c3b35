"""The /metrics endpoint (prometheus_client's ASGI app on uvicorn, on the event loop), and `runtime.serve`
starting and closing it (loopback only)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import PlainTextResponse

from tests.support.prometheus import free_port
from tests.support.wait import wait_until_async
from workrouter.adapters.asgi_server import AsgiServer
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.adapters.metrics_http import MetricsApp
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import HttpEndpoint, Wiring, serve


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def test_metrics_healthz_404_and_refreshers() -> None:
    registry = CollectorRegistry()
    waiting = Gauge("workrouter_test_waiting", "A gauge the refresher sets.", registry=registry)
    scrapes = 0

    async def refresh() -> None:
        nonlocal scrapes
        scrapes += 1
        waiting.set(scrapes * 10)

    async with AsgiServer("metrics", MetricsApp(registry=registry, refreshers=[refresh]), "127.0.0.1", 0) as server:
        assert server.port > 0  # port 0: any free port, and the bound one reported
        async with httpx.AsyncClient(base_url=server.url) as http:
            first = await http.get("/metrics")
            assert first.status_code == 200
            assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert "workrouter_test_waiting 10.0" in first.text
            assert "workrouter_test_waiting 20.0" in (await http.get("/metrics?x=1")).text  # same connection
            health = await http.get("/healthz")
            assert (health.status_code, health.text) == (200, "ok\n")
            assert (await http.get("/nope")).status_code == 404
            refused = await http.post("/metrics")
            assert refused.status_code == 405
            assert refused.headers["allow"] == "GET, HEAD"
            head = await http.head("/metrics")
            assert head.status_code == 200
            assert head.content == b""
    assert scrapes == 3  # GET, GET, HEAD; never for /healthz or errors


async def test_gzip_when_the_scraper_accepts_it_and_openmetrics_when_it_asks() -> None:
    registry = CollectorRegistry()
    Gauge("workrouter_test_up", "Always there.", registry=registry).set(1)
    app = MetricsApp(registry=registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics") as http:
        plain = await http.get("/metrics", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert "workrouter_test_up 1.0" in plain.text
        async with http.stream("GET", "/metrics", headers={"Accept-Encoding": "gzip"}) as packed:
            assert packed.headers["content-encoding"] == "gzip"
            raw = b"".join([chunk async for chunk in packed.aiter_raw()])
        assert b"workrouter_test_up 1.0" in gzip.decompress(raw)
        open_metrics = await http.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
        assert open_metrics.text.endswith("# EOF\n")


async def test_collectors_run_on_the_event_loop_thread() -> None:
    seen: list[int] = []

    class Probe(Collector):
        def collect(self) -> Iterator[Metric]:
            seen.append(threading.get_ident())
            yield GaugeMetricFamily("workrouter_test_probe", "Where collect() ran.", value=1)

    registry = CollectorRegistry()
    registry.register(Probe())
    server = AsgiServer("metrics", MetricsApp(registry=registry), "127.0.0.1", 0)
    async with server, httpx.AsyncClient() as http:
        assert (await http.get(f"{server.url}/metrics")).status_code == 200
    assert seen == [threading.get_ident()]  # the loop's thread: what the router's engine requires


async def test_a_failing_or_slow_refresher_keeps_the_scrape_alive(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    Gauge("workrouter_test_up", "Always there.", registry=registry).set(1)

    async def broken() -> None:
        raise ConnectionError("database down")

    async def slow() -> None:
        await asyncio.sleep(10)

    app = MetricsApp(registry=registry, refreshers=[broken, slow], refresh_timeout=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics") as http:
        with caplog.at_level(logging.WARNING):
            response = await http.get("/metrics")
    assert response.status_code == 200
    assert "workrouter_test_up 1.0" in response.text
    assert "database down" in caplog.text
    assert "TimeoutError" in caplog.text


async def test_in_front_of_another_app_it_answers_only_metrics() -> None:
    app = MetricsApp(registry=CollectorRegistry()).in_front_of(PlainTextResponse("inner"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/healthz")).text == "inner"
        assert (await http.get("/v1/tasks")).text == "inner"


async def test_stop_closes_idle_keep_alive_connections() -> None:
    server = AsgiServer("metrics", MetricsApp(registry=CollectorRegistry()), "127.0.0.1", 0)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # kept alive, as Prometheus keeps its connection
    assert (await asyncio.wait_for(reader.readuntil(b"ok\n"), 5)).startswith(b"HTTP/1.1 200 OK")
    await asyncio.wait_for(server.stop(), 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    writer.close()


async def test_a_taken_port_is_an_error_that_names_the_endpoint() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=rf"metrics: cannot listen on 127\.0\.0\.1:{port} .*choose another port"):
            await AsgiServer("metrics", MetricsApp(), "127.0.0.1", port).start()


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
    with socket.socket() as taken:  # another instance has it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with caplog.at_level(logging.ERROR):
            running = asyncio.create_task(serve("standby", bus, stop=stop, metrics_port=taken.getsockname()[1]))
            await wait_until_async(
                lambda: asyncio.sleep(0, "cannot serve metrics" in caplog.text), timeout=10, what="the error logged"
            )
            assert not running.done()
            stop.set()
            await asyncio.wait_for(running, 10)


async def test_serve_puts_the_process_metrics_in_front_of_the_endpoints_that_ask() -> None:
    names = TopicNames("unit.")
    bus = MemoryBus(names.specs(), deadletter_topic=names.deadletter)
    stop = asyncio.Event()
    scrapes = 0

    async def refresh() -> None:
        nonlocal scrapes
        scrapes += 1

    api, plain = free_port(), free_port()
    wiring = Wiring(
        http=[
            HttpEndpoint("api", PlainTextResponse("api"), "127.0.0.1", api, metrics=True),
            HttpEndpoint("callbacks", PlainTextResponse("callbacks"), "127.0.0.1", plain),
        ],
        refreshers=[refresh],
    )
    token = "scrape-token-0123456789"
    running = asyncio.create_task(serve("unit", bus, wiring, stop=stop, metrics_token_sha256=sha256(token)))
    async with httpx.AsyncClient() as http:

        async def answers() -> bool:
            try:
                return (await http.get(f"http://127.0.0.1:{plain}/")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until_async(answers, timeout=10, what="the endpoints")
        assert (await http.get(f"http://127.0.0.1:{api}/metrics")).status_code == 401
        scraped = await http.get(f"http://127.0.0.1:{api}/metrics", headers={"Authorization": f"Bearer {token}"})
        assert 'workrouter_service_info{service="unit"' in scraped.text
        assert (await http.get(f"http://127.0.0.1:{api}/v1/tasks")).text == "api"
        assert (await http.get(f"http://127.0.0.1:{plain}/metrics")).text == "callbacks"
        stop.set()
        await asyncio.wait_for(running, 10)
    assert scrapes == 1
