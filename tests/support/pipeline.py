"""Capture, prioritiser and api wired over real Kafka and PostgreSQL, each with its own bus, as in production."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.adapters.postgres.pool import connect
from workrouter.adapters.postgres.stores import PostgresCaptureStore, PostgresTaskFactsStore
from workrouter.bus.port import Delivery
from workrouter.config.catalog import Catalog, load_catalog
from workrouter.contracts.envelope import Envelope, utcnow
from workrouter.contracts.task_events import TaskEvent
from workrouter.contracts.topics import TopicNames
from workrouter.services.api.app import create_app
from workrouter.services.capture import service as capture_service
from workrouter.services.capture.handlers import CaptureDeps
from workrouter.services.prioritiser import service as prioritiser_service
from workrouter.services.prioritiser.handlers import PrioritiserDeps
from workrouter.services.prioritiser.rules_holder import RulesHolder

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """A new, empty database for one test (dropped afterwards); yields its URL."""
    name = f"wr_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = admin_url.rpartition("/")
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class Observer:
    """Every event seen on a topic, in arrival order, deduplicated by event id."""

    events: list[Envelope] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    duplicates: int = 0

    async def __call__(self, envelope: Envelope, _: Delivery) -> None:
        if envelope.id in self.ids:
            self.duplicates += 1
            return
        self.ids.add(envelope.id)
        self.events.append(envelope)

    def of_type(self, event_type: str) -> list[Envelope]:
        """Events of one type."""
        return [e for e in self.events if e.type == event_type]

    def task_ids(self, event_type: str) -> set[str]:
        """Task ids of the task events of one type."""
        return {e.data.task_id for e in self.of_type(event_type) if isinstance(e.data, TaskEvent)}


@dataclass
class Pipeline:
    """Handles to a running capture + prioritiser + api."""

    topics: TopicNames
    catalog: Catalog
    http: httpx.AsyncClient
    producer: KafkaBus
    tasks: Observer
    routing: Observer
    dead: Observer


@asynccontextmanager
async def capture_pipeline(bootstrap: str, database_url: str, *, poison: bool = False) -> AsyncIterator[Pipeline]:
    """Run capture, prioritiser and api (in this process, separate buses and groups) under a fresh topic prefix;
    with `poison`, the prioritiser also holds tasks that a consumer dead-lettered an event of (D13)."""
    names = TopicNames(f"it{uuid.uuid4().hex[:8]}.")
    catalog = load_catalog(CONFIG_DIR)
    pool = await connect(database_url, service="test")
    captures, facts = PostgresCaptureStore(pool), PostgresTaskFactsStore(pool)
    await captures.migrate()
    await facts.migrate()

    def bus(client: str) -> KafkaBus:
        options = KafkaOptions(client_id=client)
        return KafkaBus(bootstrap, topics=names.specs(), deadletter_topic=names.deadletter, options=options)

    capture_bus, prioritiser_bus, api_bus, observer_bus = bus("capture"), bus("prioritiser"), bus("api"), bus("obs")
    capture_service.subscribe(capture_bus, CaptureDeps(captures, catalog, capture_bus, utcnow, names), "capture")
    rules = RulesHolder(CONFIG_DIR / "rules.yaml", known_queues=frozenset(catalog.queues))
    prioritiser_deps = PrioritiserDeps(facts, catalog, rules, prioritiser_bus, names)
    prioritiser_service.subscribe(prioritiser_bus, prioritiser_deps, "prioritiser", "poison" if poison else None)
    tasks, routing, dead = Observer(), Observer(), Observer()
    # One group per topic: consumers sharing a group id rebalance together.
    observer_bus.subscribe(names.tasks, "observer-tasks", tasks)
    observer_bus.subscribe(names.routing, "observer-routing", routing)
    observer_bus.subscribe(names.deadletter, "observer-dead", dead)
    buses = [capture_bus, prioritiser_bus, api_bus, observer_bus]
    for running in buses:
        await running.start()
    transport = httpx.ASGITransport(app=create_app(catalog, api_bus, names))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=30) as http:
            yield Pipeline(names, catalog, http, api_bus, tasks, routing, dead)
    finally:
        for running in reversed(buses):
            await running.stop()
        await pool.close()
