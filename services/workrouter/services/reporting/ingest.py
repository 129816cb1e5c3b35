"""The reporting service's handler: a batch of events from `wr.tasks` / `wr.agents` into the event log."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from workrouter.adapters.postgres.event_log import EventLog
from workrouter.bus.port import Delivery
from workrouter.config.routing import RoutingConfig
from workrouter.contracts.envelope import Envelope
from workrouter.domain.reporting.dimensions import Dimensions, QueueDimension

EVENTS_LOGGED = Counter("workrouter_event_log_events", "Events written to the event log (new, not duplicates).")
DUPLICATES = Counter("workrouter_event_log_duplicates", "Events the event log already had (redelivered, re-sent).")
BATCH_SECONDS = Histogram(
    "workrouter_event_log_batch_seconds",
    "Time to write one batch to the event log (COPY, dedupe, current-state tables).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


async def ingest(batch: Sequence[tuple[Envelope, Delivery]], *, log: EventLog) -> None:
    """Write one poll's events in one transaction; raising leaves them uncommitted, to come again."""
    with BATCH_SECONDS.time():
        stored = await log.write(batch)
    EVENTS_LOGGED.inc(stored)
    DUPLICATES.inc(len(batch) - stored)


def dimensions(config: RoutingConfig) -> Dimensions:
    """What reports need from the routing configuration: thresholds and members per queue, wrap-up codes."""
    members: dict[str, list[str]] = {}
    for agent in config.agents.values():
        for queue in agent.queues:
            members.setdefault(queue, []).append(agent.agent_id)
    queues = tuple(
        QueueDimension(q.name, q.domain, tuple(sorted(q.service_levels)), tuple(sorted(members.get(q.name, []))))
        for q in config.queues.values()
    )
    return Dimensions(queues=queues, wrap_up_codes=tuple(sorted(config.wrap_up_codes)))
