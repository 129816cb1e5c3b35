"""The prioritiser service process: settings, wiring, run."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.postgres.pool import connect
from workrouter.adapters.postgres.stores import PostgresTaskFactsStore
from workrouter.bus.port import BatchBus
from workrouter.config.catalog import load_catalog
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import Wiring, configure_logging, serve_process
from workrouter.services.prioritiser.handlers import TYPES, PrioritiserDeps
from workrouter.services.prioritiser.poison import handle_dead_letter
from workrouter.services.prioritiser.poll import handle_poll
from workrouter.services.prioritiser.rules_holder import RulesHolder
from workrouter.settings import ProcessSettings


class PrioritiserSettings(ProcessSettings):
    """Settings of the prioritiser process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    rules_file: Path | None = None
    rules_reload_seconds: float = 5.0
    prioritiser_group: str = "wr-prioritiser"
    poison_group: str = Field(
        default="wr-prioritiser-poison", description="Group that reads wr.deadletter to hold poisoned tasks (D13)."
    )
    metrics_port: int = Field(default=9102, ge=0, le=65535, description="GET /metrics port; 0 = off.")


def subscribe(bus: BatchBus, deps: PrioritiserDeps, group: str, poison_group: str | None = None) -> None:
    """Register the prioritiser on `wr.tasks` (a poll at a time, only the types it acts on), and (with
    `poison_group`) the poison holds on `wr.deadletter`."""
    bus.subscribe_batch(
        deps.topics.tasks,
        group,
        functools.partial(handle_poll, deps=deps),
        max_records=500,
        max_wait_ms=10,
        types=TYPES,
    )
    if poison_group is not None:
        bus.subscribe(deps.topics.deadletter, poison_group, functools.partial(handle_dead_letter, deps=deps))


async def watch_rules(holder: RulesHolder, every: float) -> None:
    """Reload the rule set whenever its file changes (a bad file keeps the old set)."""
    while True:
        await asyncio.sleep(every)
        holder.reload_if_changed()


async def assemble(settings: PrioritiserSettings, bus: BatchBus) -> Wiring:
    """Subscribe the prioritiser on `bus`, with its own PostgreSQL pool and the rules file watcher."""
    catalog = load_catalog(settings.config_dir)
    holder = RulesHolder(
        settings.rules_file or settings.config_dir / "rules.yaml",
        known_queues=frozenset(catalog.queues),
        known_calendars=catalog.calendars,
    )
    pool = await connect(settings.database_url, service="prioritiser")
    store = PostgresTaskFactsStore(pool)
    await store.migrate()
    deps = PrioritiserDeps(store, catalog, holder, bus, TopicNames(settings.topic_prefix))
    subscribe(bus, deps, settings.prioritiser_group, settings.poison_group)

    async def watch() -> None:
        await watch_rules(holder, settings.rules_reload_seconds)

    return Wiring(background=[watch], cleanup=[pool.close])


async def main(settings: PrioritiserSettings) -> None:
    """Run the prioritiser until a signal."""
    configure_logging(settings.log_level)
    bus = build_bus(settings, client_id="wr-prioritiser")
    wiring = await assemble(settings, bus)
    await serve_process("prioritiser", bus, wiring, settings)
