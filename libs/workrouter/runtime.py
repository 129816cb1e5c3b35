"""Running services in a process: start the bus, the HTTP endpoints and the metrics endpoint, wait for
SIGINT/SIGTERM, stop cleanly. One service per process over Kafka, or all of them in one (embedded)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import uvicorn
from prometheus_client import Info

from workrouter.adapters.kafka_lag import track_bus
from workrouter.adapters.metrics_http import MetricsServer, Refresher
from workrouter.bus.port import Bus
from workrouter.settings import ProcessSettings

log = logging.getLogger(__name__)
SERVICE_INFO = Info("workrouter_service", "The workrouter service this process runs, and its version.")
Step = Callable[[], Awaitable[None]]


def configure_logging(level: str) -> None:
    """One log format for every process."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiokafka", "faststream"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def describe_service(name: str) -> None:
    """Set `workrouter_service_info{service, version}` for this process."""
    try:
        release = version("workrouter")
    except PackageNotFoundError:  # running from a source tree that is not installed
        release = "unknown"
    SERVICE_INFO.info({"service": name, "version": release})


@dataclass(frozen=True)
class HttpEndpoint:
    """An ASGI app to serve on host:port while the process runs."""

    name: str
    app: Any
    host: str
    port: int
    log_level: str = "info"


@dataclass
class Wiring:
    """What a service adds to the process it runs in, once its handlers are subscribed on the bus.

    HTTP endpoints start after the bus, then the `background` loops; at stop the loops are cancelled
    first, then the endpoints close; `stopping` steps run
    once the HTTP endpoints and loops have stopped but the bus still runs; `cleanup` steps run after
    the bus has stopped. `refreshers` update gauges before each scrape of /metrics.
    """

    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    http: list[HttpEndpoint] = field(default_factory=list)
    stopping: list[Step] = field(default_factory=list)
    cleanup: list[Step] = field(default_factory=list)
    refreshers: list[Refresher] = field(default_factory=list)

    def extend(self, other: Wiring) -> Wiring:
        """Add another service's wiring (its steps run after this one's)."""
        self.background += other.background
        self.http += other.http
        self.stopping += other.stopping
        self.cleanup += other.cleanup
        self.refreshers += other.refreshers
        return self


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's `serve` owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(endpoint: HttpEndpoint) -> socket.socket:
    """Listen on the endpoint's address ourselves, so a taken port is an error that says what to do."""
    family = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((endpoint.host, endpoint.port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"{endpoint.name}: cannot listen on {endpoint.host}:{endpoint.port} ({exc.strerror}); "
            "another process is using the port: stop it, or choose another port"
        ) from exc
    sock.set_inheritable(True)
    return sock


async def _start_http(endpoint: HttpEndpoint) -> tuple[_Server, asyncio.Task[None]]:
    sock = _bind(endpoint)
    config = uvicorn.Config(endpoint.app, log_level=endpoint.log_level)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http:{endpoint.name}")
    log.info("%s on http://%s:%d", endpoint.name, endpoint.host, sock.getsockname()[1])
    return server, task


async def _run_steps(steps: Sequence[Step]) -> None:
    for step in steps:
        await step()


async def serve(
    name: str,
    bus: Bus,
    wiring: Wiring | None = None,
    *,
    stop: asyncio.Event | None = None,
    metrics_port: int = 0,
    metrics_host: str = "127.0.0.1",
    metrics_token_sha256: str | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Start the metrics endpoint (unless `metrics_port` is 0), `bus`, the wiring's loops and HTTP
    endpoints; run until a signal (or `stop`); then stop them in reverse order (see Wiring)."""
    wiring = wiring or Wiring()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    describe_service(name)
    metrics = await _start_metrics(name, metrics_host, metrics_port, wiring.refreshers, metrics_token_sha256)
    untrack = track_bus(bus)
    servers: list[tuple[_Server, asyncio.Task[None]]] = []
    loops: list[asyncio.Task[None]] = []
    try:
        await bus.start()
        try:
            for endpoint in wiring.http:
                servers.append(await _start_http(endpoint))
            loops = [_start_loop(name, run, stop) for run in wiring.background]
            log.info("%s: running", name)
            if ready is not None:
                ready()
            await stop.wait()
        finally:
            log.info("%s: stopping", name)
            for task in loops:
                task.cancel()
            for task in loops:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for server, _ in servers:
                server.should_exit = True
            await asyncio.gather(*(task for _, task in servers), return_exceptions=True)
            await _run_steps(wiring.stopping)
            await bus.stop()
            await _run_steps(wiring.cleanup)
    finally:
        untrack()
        if metrics is not None:
            await metrics.stop()


async def serve_process(name: str, bus: Bus, wiring: Wiring, settings: ProcessSettings) -> None:
    """Serve one service as its own process, with the /metrics endpoint its settings ask for."""
    await serve(
        name,
        bus,
        wiring,
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host,
        metrics_token_sha256=settings.metrics_token_sha256,
    )


def _start_loop(name: str, run: Callable[[], Coroutine[Any, Any, None]], stop: asyncio.Event) -> asyncio.Task[None]:
    """A background loop; if it ever fails, the process stops (so whatever supervises it restarts it)."""
    task = asyncio.create_task(run(), name=f"{name}:{getattr(run, '__qualname__', 'loop')}")

    def ended(done: asyncio.Task[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("%s: %s failed; stopping the process", name, done.get_name(), exc_info=done.exception())
            stop.set()

    task.add_done_callback(ended)
    return task


async def _start_metrics(
    name: str, host: str, port: int, refreshers: Sequence[Refresher], token_sha256: str | None
) -> MetricsServer | None:
    if not port:
        return None
    metrics = MetricsServer(host, port, refreshers=refreshers, token_sha256=token_sha256)
    try:
        await metrics.start()
    except OSError as exc:  # e.g. a second instance on this host with the same WR_METRICS_PORT
        log.error("%s: cannot serve metrics on %s:%d (%s); running without /metrics", name, host, port, exc)
        return None
    return metrics
