"""The escalation service process: settings, wiring, run.

It consumes `wr.tasks` in its own group, keeps each open task's record and timers in PostgreSQL
(durable: a crash or restart of any service loses no timer) and fires due timers from there.
"""

from __future__ import annotations

import functools
from pathlib import Path

from prometheus_client import REGISTRY
from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.postgres.escalation_store import PostgresEscalationStore
from workrouter.adapters.postgres.pool import connect
from workrouter.bus.port import BatchBus, Bus
from workrouter.config.catalog import load_catalog
from workrouter.config.escalation import Known, load_escalation
from workrouter.config.routing import load_routing_config
from workrouter.contracts.envelope import utcnow
from workrouter.contracts.topics import TopicNames
from workrouter.domain.escalation.calendars import CalendarBook
from workrouter.domain.escalation.plan import Rules
from workrouter.ports.timers import EscalationStore
from workrouter.runtime import Wiring, configure_logging, serve_process
from workrouter.services.escalation.handlers import EscalationDeps, fire_batch, handle_batch
from workrouter.services.escalation.metrics import SlaRisk, postgres_counts
from workrouter.services.escalation.timer_loop import TimerLoop
from workrouter.settings import ProcessSettings


class EscalationSettings(ProcessSettings):
    """Settings of the escalation process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    escalation_group: str = "wr-escalation"
    escalation_batch: int = 500  # timers fired per transaction
    escalation_events_batch: int = Field(
        default=500, ge=1, le=10_000, description="Most events folded per transaction."
    )
    escalation_wait_ms: int = Field(default=250, ge=1, le=10_000, description="Longest wait to fill a batch.")
    escalation_max_sleep_seconds: float = 1.0  # the longest the loop sleeps without looking at the store
    metrics_port: int = Field(default=9104, ge=0, le=65535, description="GET /metrics port; 0 = off.")
    sla_risk_refresh_seconds: float = Field(
        default=10.0, gt=0, description="How old the at-SLA-risk count may be before a scrape counts again."
    )


def load_rules(config_dir: Path) -> Rules:
    """escalation.yaml and calendars.yaml, checked against the queues, work types and agents they name."""
    catalog = load_catalog(config_dir)  # with calendars.yaml
    routing = load_routing_config(config_dir)
    calendars = catalog.calendars
    known = Known(
        queues=frozenset(catalog.queues),
        worktypes=frozenset(catalog.worktypes),
        agents=frozenset(routing.agents),
        calendars=frozenset(calendars),
    )
    return Rules(load_escalation(config_dir / "escalation.yaml", known), CalendarBook(calendars))


def wire(
    consumer: BatchBus, publisher: Bus, store: EscalationStore, rules: Rules, settings: EscalationSettings
) -> TimerLoop:
    """Subscribe the handler on `consumer`; the timer loop it returns publishes through `publisher`."""
    deps = EscalationDeps(store, rules, publisher, TopicNames(settings.topic_prefix))
    loop = TimerLoop(
        store,
        functools.partial(fire_batch, deps=deps),
        clock=utcnow,
        batch=settings.escalation_batch,
        max_sleep_seconds=settings.escalation_max_sleep_seconds,
    )
    deps.poke = loop.poke
    consumer.subscribe_batch(
        deps.topics.tasks,
        settings.escalation_group,
        functools.partial(handle_batch, deps=deps),
        max_records=settings.escalation_events_batch,
        max_wait_ms=settings.escalation_wait_ms,
    )
    return loop


async def assemble(settings: EscalationSettings, bus: BatchBus, publisher: Bus | None = None) -> Wiring:
    """Subscribe escalation on `bus`; due timers fire through `publisher` (default: `bus`) from a loop
    that runs while the process does. Its at-SLA-risk gauge joins the registry."""
    rules = load_rules(settings.config_dir)
    pool = await connect(settings.database_url, service="escalation")
    store = PostgresEscalationStore(pool)
    await store.migrate()
    timers = wire(bus, publisher or bus, store, rules, settings)
    risk = SlaRisk(
        postgres_counts(pool, store.schema),
        load_catalog(settings.config_dir).queues,
        max_age=settings.sla_risk_refresh_seconds,
    )
    REGISTRY.register(risk)

    async def close() -> None:
        REGISTRY.unregister(risk)
        await pool.close()

    return Wiring(background=[timers.run], cleanup=[close], refreshers=[risk.refresh])


async def main(settings: EscalationSettings) -> None:
    """Run the escalation service until a signal.

    Timers fire through a producer-only bus started first: after a crash, due timers fire as soon as
    PostgreSQL and Kafka answer, not once the consumer group has re-formed (which waits out the dead
    member's session, about 10 s).
    """
    configure_logging(settings.log_level)
    publisher = build_bus(settings, client_id="wr-escalation-timers")
    await publisher.start()
    consumer = build_bus(settings, client_id="wr-escalation")
    wiring = await assemble(settings, consumer, publisher)
    wiring.cleanup.append(publisher.stop)
    await serve_process("escalation", consumer, wiring, settings)
