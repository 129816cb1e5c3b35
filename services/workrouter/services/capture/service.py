"""The capture service process: settings, wiring, run."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.postgres.pool import connect
from workrouter.adapters.postgres.stores import PostgresCaptureStore
from workrouter.bus.port import BatchBus
from workrouter.config.catalog import load_catalog
from workrouter.contracts.envelope import utcnow
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import Wiring, configure_logging, serve_process
from workrouter.services.capture.handlers import CaptureDeps
from workrouter.services.capture.poll import handle_poll
from workrouter.settings import ProcessSettings


class CaptureSettings(ProcessSettings):
    """Settings of the capture process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    capture_group: str = "wr-capture"
    metrics_port: int = Field(default=9101, ge=0, le=65535, description="GET /metrics port; 0 = off.")


def subscribe(bus: BatchBus, deps: CaptureDeps, group: str) -> None:
    """Register the capture handler on `wr.capture`."""
    bus.subscribe_batch(deps.topics.capture, group, functools.partial(handle_poll, deps=deps), max_wait_ms=10)


async def assemble(settings: CaptureSettings, bus: BatchBus) -> Wiring:
    """Subscribe capture on `bus`, with its own PostgreSQL pool."""
    catalog = load_catalog(settings.config_dir)
    pool = await connect(settings.database_url, service="capture")
    store = PostgresCaptureStore(pool)
    await store.migrate()
    subscribe(bus, CaptureDeps(store, catalog, bus, utcnow, TopicNames(settings.topic_prefix)), settings.capture_group)
    return Wiring(cleanup=[pool.close])


async def main(settings: CaptureSettings) -> None:
    """Run the capture service until a signal."""
    configure_logging(settings.log_level)
    bus = build_bus(settings, client_id="wr-capture")
    wiring = await assemble(settings, bus)
    await serve_process("capture", bus, wiring, settings)
