"""The prioritiser service process: settings, wiring, run."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from pathlib import Path

from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.postgres.pool import connect
from workrouter.adapters.postgres.stores import PostgresTaskFactsStore
from workrouter.bus.port import Bus
from workrouter.config.catalog import load_catalog
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import configure_logging, serve
from workrouter.services.prioritiser.handlers import PrioritiserDeps, handle
from workrouter.services.prioritiser.rules_holder import RulesHolder
from workrouter.settings import ProcessSettings


class PrioritiserSettings(ProcessSettings):
    """Settings of the prioritiser process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    rules_file: Path | None = None
    rules_reload_seconds: float = 5.0
    prioritiser_group: str = "wr-prioritiser"
    metrics_port: int = Field(default=9102, ge=0, le=65535, description="GET /metrics port; 0 = off.")


def subscribe(bus: Bus, deps: PrioritiserDeps, group: str) -> None:
    """Register the prioritiser handler on `wr.tasks`."""
    bus.subscribe(deps.topics.tasks, group, functools.partial(handle, deps=deps))


async def watch_rules(holder: RulesHolder, every: float) -> None:
    """Reload the rule set whenever its file changes (a bad file keeps the old set)."""
    while True:
        await asyncio.sleep(every)
        holder.reload_if_changed()


async def main(settings: PrioritiserSettings) -> None:
    """Run the prioritiser until a signal."""
    configure_logging(settings.log_level)
    catalog = load_catalog(settings.config_dir)
    holder = RulesHolder(
        settings.rules_file or settings.config_dir / "rules.yaml",
        known_queues=frozenset(catalog.queues),
        known_calendars=catalog.calendars,
    )
    pool = await connect(settings.database_url, service="prioritiser")
    store = PostgresTaskFactsStore(pool)
    await store.migrate()
    bus = build_bus(settings, client_id="wr-prioritiser")
    deps = PrioritiserDeps(store, catalog, holder, bus, TopicNames(settings.topic_prefix))
    subscribe(bus, deps, settings.prioritiser_group)
    watcher = asyncio.create_task(watch_rules(holder, settings.rules_reload_seconds))

    async def stop_watcher() -> None:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    await serve(
        "prioritiser",
        bus,
        cleanup=[stop_watcher, pool.close],
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host,
    )
