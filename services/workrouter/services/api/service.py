"""The api service process: settings, wiring, run uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import redis.asyncio as redis
from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.adapters.redis_inbox import RedisInbox
from workrouter.bus.port import Bus
from workrouter.config.catalog import load_catalog
from workrouter.config.routing import load_routing_config
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import HttpEndpoint, Wiring, configure_logging, serve
from workrouter.services.api.app import create_app
from workrouter.services.api.auth_settings import AuthSettings, build_limits, build_sign_in

log = logging.getLogger(__name__)


class ApiSettings(AuthSettings):
    """Settings of the api process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    redis_prefix: str = Field(
        default="wr", pattern=r"^[A-Za-z0-9._-]{1,64}$", description="Key prefix of the live state in Redis."
    )


async def assemble(settings: ApiSettings, bus: Bus) -> Wiring:
    """The api app on WR_HTTP_HOST:WR_HTTP_PORT, publishing on `bus`; the agent routes need WR_REDIS_URL."""
    catalog = load_catalog(settings.config_dir)
    routing = load_routing_config(settings.config_dir)
    client = redis.from_url(settings.redis_url) if settings.redis_url else None
    if client is None:
        log.warning("WR_REDIS_URL is not set: serving source systems only, without the agent and supervisor API")
    store = RedisAgentStore(client, settings.redis_prefix) if client is not None else None
    inbox = RedisInbox(client, store.inbox) if client is not None and store is not None else None
    http = httpx.AsyncClient(timeout=5.0)  # fetches the OIDC issuer's keys
    sign_in = build_sign_in(settings, routing, http)
    if routing.agent_passwords and sign_in.passwords is None:
        log.warning("agents.yaml has passwords but WR_AUTH_SECRET is not set: POST /v1/auth/token is off")
    limits = build_limits(settings, client, settings.redis_prefix)
    app = create_app(
        catalog,
        bus,
        TopicNames(settings.topic_prefix),
        routing=routing,
        store=store,
        inbox=inbox,
        sign_in=sign_in,
        limits=limits,
    )
    endpoint = HttpEndpoint(
        "api", app, settings.http_host, settings.http_port, settings.log_level.lower(), metrics=True
    )

    async def close_redis() -> None:
        await http.aclose()
        if client is not None:
            await client.aclose()

    return Wiring(http=[endpoint], cleanup=[close_redis])


async def main(settings: ApiSettings) -> None:
    """Serve HTTP until a signal (the process's /metrics answers on WR_HTTP_PORT, in front of the app)."""
    configure_logging(settings.log_level)
    bus = build_bus(settings, client_id="wr-api")
    await serve("api", bus, await assemble(settings, bus), metrics_token_sha256=settings.metrics_token_sha256)
