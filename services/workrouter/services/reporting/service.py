"""The reporting service process: event log ingest from Kafka, and the reports over HTTP."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from pydantic import Field

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.pool import connect
from workrouter.adapters.postgres.reports.limits import ReportLimits
from workrouter.bus.port import BatchBus
from workrouter.config.routing import load_routing_config
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import HttpEndpoint, Wiring, configure_logging, serve
from workrouter.services.reporting.access import ReportsAccess
from workrouter.services.reporting.http import create_app
from workrouter.services.reporting.ingest import dimensions, ingest
from workrouter.settings import ProcessSettings

log = logging.getLogger(__name__)


class ReportingSettings(ProcessSettings):
    """Settings of the reporting process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    reporting_group: str = "wr-reporting"
    reporting_batch: int = Field(default=2000, ge=1, le=50_000, description="Most events written per transaction.")
    reporting_wait_ms: int = Field(default=500, ge=1, le=10_000, description="Longest wait to fill a batch.")
    db_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Schema of the tables.")
    http_host: str = "127.0.0.1"
    http_port: int = 8090
    reports_statement_timeout_seconds: float = Field(
        default=30.0, ge=0, le=3600, description="Longest a report's query may run before it is stopped (0 = no limit)."
    )
    reports_max_cost: float = Field(
        default=30_000_000, ge=0, description="Highest PostgreSQL planner cost a report may have (0 = not checked)."
    )
    reports_max_rows: int = Field(default=250_000, ge=0, description="Most rows a report may return (0 = no limit).")
    reports_key_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of a bearer key the reports accept besides supervisors' tokens (docs/reporting.md).",
    )
    reports_concurrent: int = Field(default=3, ge=1, le=9, description="Reports run at once; more wait for a slot.")
    reports_wait_seconds: float = Field(
        default=10.0, ge=0, le=600, description="Longest a report waits for a slot before a 429."
    )

    def report_limits(self) -> ReportLimits:
        """The limits every report runs within."""
        return ReportLimits(
            statement_timeout_seconds=self.reports_statement_timeout_seconds,
            max_cost=self.reports_max_cost,
            max_rows=self.reports_max_rows,
        )


def subscribe(bus: BatchBus, event_log: EventLog, settings: ReportingSettings) -> None:
    """Both event topics into the log, each as batches."""
    topics = TopicNames(settings.topic_prefix)
    handler = functools.partial(ingest, log=event_log)
    for topic in (topics.tasks, topics.agents):
        bus.subscribe_batch(
            topic,
            settings.reporting_group,
            handler,
            max_records=settings.reporting_batch,
            max_wait_ms=settings.reporting_wait_ms,
        )


async def assemble(settings: ReportingSettings, bus: BatchBus) -> Wiring:
    """Subscribe the event log ingest on `bus`; the reports app is served on WR_HTTP_HOST:WR_HTTP_PORT."""
    routing = load_routing_config(settings.config_dir)
    pool = await connect(settings.database_url, service="reporting")
    event_log = EventLog(pool, schema=settings.db_schema)
    await event_log.migrate()
    await event_log.sync_dimensions(dimensions(routing))
    subscribe(bus, event_log, settings)
    log.info(
        "reporting: ingesting into %s; reports on http://%s:%d/v1/reports",
        settings.db_schema,
        settings.http_host,
        settings.http_port,
    )
    access = ReportsAccess(routing, settings.reports_key_sha256)
    reports = create_app(
        event_log,
        access=access,
        limits=settings.report_limits(),
        concurrent=settings.reports_concurrent,
        wait_seconds=settings.reports_wait_seconds,
    )
    app = HttpEndpoint(
        "reports", reports, settings.http_host, settings.http_port, settings.log_level.lower(), metrics=True
    )
    return Wiring(http=[app], cleanup=[pool.close])


async def main(settings: ReportingSettings) -> None:
    """Ingest and serve reports until a signal (the process's /metrics answers on WR_HTTP_PORT, in front of the
    reports)."""
    configure_logging(settings.log_level)
    bus = build_bus(settings, client_id="wr-reporting")
    wiring = await assemble(settings, bus)
    await serve("reporting", bus, wiring, metrics_token_sha256=settings.metrics_token_sha256)
