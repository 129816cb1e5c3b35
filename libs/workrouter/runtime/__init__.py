"""Running services in a process: start the bus, the HTTP endpoints and the metrics endpoint, wait for
SIGINT/SIGTERM, stop cleanly. One service per process over Kafka, or all of them in one (embedded)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import Info

from workrouter.adapters.asgi_server import AsgiServer
from workrouter.adapters.kafka_lag import refresh_lag, track_bus
from workrouter.adapters.metrics_http import MetricsApp, Refresher
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
    """An ASGI app to serve on host:port while the process runs; with `metrics`, the process's GET /metrics
    answers in front of it (the api's and the reports' own port)."""

    name: str
    app: Any
    host: str
    port: int
    log_level: str = "info"
    metrics: bool = False


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
    endpoints; run until a signal (or `stop`); then stop them in reverse order (see Wiring).

    Every /metrics of the process (the metrics port's, and those of endpoints with `metrics`) awaits the
    wiring's refreshers (and reads the bus's consumer lag) and requires `metrics_token_sha256`'s token when it
    is set."""
    wiring = wiring or Wiring()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    describe_service(name)
    scrape = MetricsApp(refreshers=[*wiring.refreshers, refresh_lag], token_sha256=metrics_token_sha256)
    metrics = await _start_metrics(name, scrape, metrics_host, metrics_port)
    untrack = track_bus(bus)
    servers: list[AsgiServer] = []
    loops: list[asyncio.Task[None]] = []
    try:
        await bus.start()
        try:
            for endpoint in wiring.http:
                app = scrape.in_front_of(endpoint.app) if endpoint.metrics else endpoint.app
                server = AsgiServer(endpoint.name, app, endpoint.host, endpoint.port, log_level=endpoint.log_level)
                await server.start()
                servers.append(server)
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
            await asyncio.gather(*(server.stop() for server in servers))
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


async def _start_metrics(name: str, app: MetricsApp, host: str, port: int) -> AsgiServer | None:
    if not port:
        return None
    metrics = AsgiServer("metrics", app, host, port, log_level="warning", access_log=False)
    try:
        await metrics.start()
    except OSError as exc:  # e.g. a second instance on this host with the same WR_METRICS_PORT
        log.error("%s: cannot serve metrics on %s:%d (%s); running without /metrics", name, host, port, exc)
        return None
    return metrics
