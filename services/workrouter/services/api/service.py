"""The api service process: settings, wiring, run uvicorn."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from workrouter.adapters.bus_factory import build_bus
from workrouter.config.catalog import load_catalog
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import configure_logging
from workrouter.services.api.app import create_app
from workrouter.settings import ProcessSettings


class ApiSettings(ProcessSettings):
    """Settings of the api process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    http_host: str = "127.0.0.1"
    http_port: int = 8080


async def main(settings: ApiSettings) -> None:
    """Serve HTTP until a signal (uvicorn handles SIGINT/SIGTERM)."""
    configure_logging(settings.log_level)
    catalog = load_catalog(settings.config_dir)
    bus = build_bus(settings, client_id="wr-api")
    await bus.start()
    try:
        config = uvicorn.Config(
            create_app(catalog, bus, TopicNames(settings.topic_prefix)),
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
        )
        await uvicorn.Server(config).serve()
    finally:
        await bus.stop()
