"""The router service process: settings, wiring, run."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as redis
from prometheus_client import REGISTRY
from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.redis_agents import MAX_RETIRED, RedisAgentStore
from workrouter.bus.port import BatchBus
from workrouter.config.routing import load_routing_config
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import Wiring, configure_logging, serve_process
from workrouter.services.router.carry_out import KEEP_RETIRED_SECONDS
from workrouter.services.router.metrics_collector import RouterCollector
from workrouter.services.router.router import Router, RouterOptions
from workrouter.settings import ProcessSettings


class RouterSettings(ProcessSettings):
    """Settings of the router process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    router_group: str = "wr-router"
    redis_prefix: str = "wr"
    heartbeat_timeout_seconds: float = 30.0
    heartbeat_sweep_seconds: float = 5.0
    metrics_port: int = Field(default=9103, ge=0, le=65535, description="GET /metrics port; 0 = off.")
    retired_keep_seconds: float = Field(
        default=KEEP_RETIRED_SECONDS,
        ge=60,
        description="How long a finished classification is recognised when the prioritiser publishes it again.",
    )
    retired_max_per_domain: int = Field(
        default=MAX_RETIRED,
        ge=1_000,
        description="At most this many finished classifications remembered per domain (about 144 B of Redis each).",
    )


def connect_redis(url: str | None) -> redis.Redis:
    """A Redis client for the live state, or a clear error when none is configured."""
    if not url:
        raise SystemExit("the router needs Redis: set WR_REDIS_URL=redis://host:port/0 (`make infra-up` starts one)")
    return redis.from_url(url)


async def assemble(settings: RouterSettings, bus: BatchBus) -> Wiring:
    """Subscribe the router on `bus`, with its own Redis client; its live gauges join the registry."""
    config = load_routing_config(settings.config_dir)
    client = connect_redis(settings.redis_url)
    store = RedisAgentStore(client, settings.redis_prefix, max_retired=settings.retired_max_per_domain)
    options = RouterOptions(
        heartbeat_timeout_seconds=settings.heartbeat_timeout_seconds,
        sweep_seconds=settings.heartbeat_sweep_seconds,
        keep_retired_seconds=settings.retired_keep_seconds,
    )
    router = Router(config, store, bus, TopicNames(settings.topic_prefix), options=options)
    router.subscribe(bus, settings.router_group)
    collector = RouterCollector(lambda: list(router.domains.values()), router.clock)
    REGISTRY.register(collector)

    async def close_redis() -> None:
        REGISTRY.unregister(collector)
        await client.aclose()

    return Wiring(cleanup=[router.close, close_redis])


async def main(settings: RouterSettings) -> None:
    """Run the router until a signal."""
    configure_logging(settings.log_level)
    bus = build_bus(settings, client_id="wr-router")
    wiring = await assemble(settings, bus)
    await serve_process("router", bus, wiring, settings)
