"""The api service process: settings, wiring, run uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import redis.asyncio as redis
import uvicorn
from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.adapters.redis_inbox import RedisInbox
from workrouter.config.catalog import load_catalog
from workrouter.config.routing import load_routing_config
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import configure_logging, describe_service
from workrouter.services.api.app import create_app
from workrouter.settings import ProcessSettings

log = logging.getLogger(__name__)


class ApiSettings(ProcessSettings):
    """Settings of the api process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    redis_prefix: str = Field(
        default="wr", pattern=r"^[A-Za-z0-9._-]{1,64}$", description="Key prefix of the live state in Redis."
    )


async def main(settings: ApiSettings) -> None:
    """Serve HTTP until a signal (uvicorn handles SIGINT/SIGTERM)."""
    configure_logging(settings.log_level)
    describe_service("api")  # its /metrics is served by the app itself, on WR_HTTP_PORT
    catalog = load_catalog(settings.config_dir)
    routing = load_routing_config(settings.config_dir)
    client = redis.from_url(settings.redis_url) if settings.redis_url else None
    if client is None:
        log.warning("WR_REDIS_URL is not set: serving source systems only, without the agent and supervisor API")
    store = RedisAgentStore(client, settings.redis_prefix) if client is not None else None
    inbox = RedisInbox(client, store.inbox) if client is not None and store is not None else None
    bus = build_bus(settings, client_id="wr-api")
    await bus.start()
    try:
        app = create_app(catalog, bus, TopicNames(settings.topic_prefix), routing=routing, store=store, inbox=inbox)
        level = settings.log_level.lower()
        config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_level=level)
        await uvicorn.Server(config).serve()
    finally:
        await bus.stop()
        if client is not None:
            await client.aclose()
