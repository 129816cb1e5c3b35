"""All seven services in this process over one in-process bus (`workrouter up`).

Each service is assembled exactly as its own process assembles it (`assemble` in its service
module), with the same settings classes; only the bus is shared and the stores are the embedded
ones. The HTTP api, the reports and /metrics listen on localhost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workrouter.adapters.bus_journal import BusJournal
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.contracts.topics import TopicNames
from workrouter.runtime import Wiring, serve
from workrouter.services.api import service as api
from workrouter.services.capture import service as capture
from workrouter.services.escalation import service as escalation
from workrouter.services.notifier import service as notifier
from workrouter.services.prioritiser import service as prioritiser
from workrouter.services.reporting import service as reporting
from workrouter.services.router import service as router
from workrouter.settings import ProcessSettings

log = logging.getLogger(__name__)
DRAIN_SECONDS = 30.0


@dataclass(frozen=True)
class Addresses:
    """Where the one process listens and what it reads."""

    config_dir: Path = Path("deploy/config")
    host: str = "127.0.0.1"
    api_port: int = 8080
    reports_port: int = 8090
    metrics_port: int = 9100
    log_level: str = "WARNING"
    metrics_token_sha256: str | None = None  # WR_METRICS_TOKEN_SHA256: /metrics then requires the bearer token

    @property
    def api_url(self) -> str:
        """The base URL of the api."""
        return f"http://{self.host}:{self.api_port}"

    @property
    def reports_url(self) -> str:
        """The base URL of the reports."""
        return f"http://{self.host}:{self.reports_port}"


def build_memory_bus(journal_dir: Path | None = None) -> MemoryBus:
    """The in-process bus with the topics and delivery policy every process uses; durable with a journal folder."""
    defaults = ProcessSettings(broker_url="memory://")
    names = TopicNames(defaults.topic_prefix)
    journal = None if journal_dir is None else BusJournal(journal_dir)
    return MemoryBus(names.specs(), deadletter_topic=names.deadletter, stop_timeout=DRAIN_SECONDS, journal=journal)


async def assemble_all(bus: MemoryBus, at: Addresses, database_url: str, redis_url: str) -> Wiring:
    """Every service on `bus`, in the order of the pipeline."""
    common: dict[str, Any] = {
        "broker_url": "memory://",
        "database_url": database_url,
        "redis_url": redis_url,
        "config_dir": at.config_dir,
        "log_level": at.log_level,
        "metrics_port": 0,  # one /metrics for the process, below
    }
    http: dict[str, Any] = {"http_host": at.host}
    wiring = Wiring()
    wiring.extend(await capture.assemble(capture.CaptureSettings(**common), bus))
    wiring.extend(await prioritiser.assemble(prioritiser.PrioritiserSettings(**common), bus))
    wiring.extend(await router.assemble(router.RouterSettings(**common), bus))
    wiring.extend(await escalation.assemble(escalation.EscalationSettings(**common), bus))
    wiring.extend(await notifier.assemble(notifier.NotifierSettings(**common), bus))
    wiring.extend(
        await reporting.assemble(reporting.ReportingSettings(**common, **http, http_port=at.reports_port), bus)
    )
    wiring.extend(await api.assemble(api.ApiSettings(**common, **http, http_port=at.api_port), bus))

    async def drain() -> None:
        left = await bus.drain(DRAIN_SECONDS)
        if left:
            log.warning("stopping with %d events not yet handled by every service (waited %.0f s)", left, DRAIN_SECONDS)

    wiring.stopping.append(drain)
    return wiring


async def run_all(
    at: Addresses,
    database_url: str,
    redis_url: str,
    *,
    extra: Wiring | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
    journal_dir: Path | None = None,
) -> None:
    """Run every service (and `extra`, e.g. the demo) until a signal or `stop`; drain the bus before stopping.

    With `journal_dir` the bus journals every record there before `publish` returns and, at start,
    delivers again what a crash left unhandled (docs/decisions.md D14)."""
    bus = build_memory_bus(journal_dir)
    wiring = await assemble_all(bus, at, database_url, redis_url)
    if extra is not None:
        wiring.extend(extra)
    await serve(
        "embedded",
        bus,
        wiring,
        stop=stop,
        metrics_port=at.metrics_port,
        metrics_host=at.host,
        metrics_token_sha256=at.metrics_token_sha256,
        ready=ready,
    )
