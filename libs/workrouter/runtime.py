"""Running a service process: start the bus and the metrics endpoint, wait for SIGINT/SIGTERM, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import Info

from workrouter.adapters.kafka_lag import track_bus
from workrouter.adapters.metrics_http import MetricsServer, Refresher
from workrouter.bus.port import Bus

log = logging.getLogger(__name__)
SERVICE_INFO = Info("workrouter_service", "The workrouter service this process runs, and its version.")


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


async def serve(
    name: str,
    bus: Bus,
    *,
    stop: asyncio.Event | None = None,
    cleanup: Sequence[Callable[[], Awaitable[None]]] = (),
    metrics_port: int = 0,
    metrics_host: str = "127.0.0.1",
    refreshers: Sequence[Refresher] = (),
) -> None:
    """Start the metrics endpoint (unless `metrics_port` is 0) and `bus`, run until a signal (or `stop`),
    then stop the bus, run `cleanup` in order and close the endpoint."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    describe_service(name)
    metrics: MetricsServer | None = None
    if metrics_port:
        metrics = MetricsServer(metrics_host, metrics_port, refreshers=refreshers)
        try:
            await metrics.start()
        except OSError as exc:  # e.g. a second instance on this host with the same WR_METRICS_PORT
            log.error(
                "%s: cannot serve metrics on %s:%d (%s); running without /metrics",
                name,
                metrics_host,
                metrics_port,
                exc,
            )
            metrics = None
    untrack = track_bus(bus)
    try:
        await bus.start()
        log.info("%s: running", name)
        try:
            await stop.wait()
        finally:
            log.info("%s: stopping", name)
            await bus.stop()
            for step in cleanup:
                await step()
    finally:
        untrack()
        if metrics is not None:
            await metrics.stop()
