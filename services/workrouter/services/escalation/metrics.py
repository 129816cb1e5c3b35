"""Escalation's live gauge: open tasks at SLA risk, per current queue, counted in PostgreSQL.

A task is at SLA risk from the moment the first step of its SLA ladder fires (a configured share of
its SLA has passed, e.g. 50 %) until it ends — whether it has been moved by escalation since, and
whether an agent has it or not. The count is a query over the escalation records (a scan of the
records table), refreshed before a scrape when the last count is older than `max_age` seconds; a
failed refresh keeps the last count. Every escalation instance reads the same table, so aggregate
with max(), not sum().
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator

import asyncpg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Fetch = Callable[[], Awaitable[dict[str, int]]]
SLA_RISK_SQL = """SELECT coalesce(record->>'queue', '') AS queue, count(*) AS tasks FROM {tasks}
WHERE record->>'closed' = 'false' AND jsonb_path_exists(record->'done', '$[*] ? (@ starts with "sla:")')
GROUP BY 1"""


class SlaRisk(Collector):
    """`workrouter_tasks_at_sla_risk{queue}`, the configured queues always present once counted."""

    def __init__(
        self,
        fetch: Fetch,
        queues: Iterable[str],
        *,
        max_age: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._queues = sorted(queues)
        self._max_age = max_age
        self._clock = clock
        self._counts: dict[str, int] | None = None
        self._at = float("-inf")

    async def refresh(self) -> None:
        """Count again unless the last count is fresh enough."""
        if self._clock() - self._at < self._max_age:
            return
        self._at = self._clock()  # also after a failure: do not hammer a database that is down
        self._counts = await self._fetch()

    def collect(self) -> Iterator[Metric]:
        """The last count (nothing before the first one succeeded)."""
        gauge = GaugeMetricFamily(
            "workrouter_tasks_at_sla_risk",
            "Open tasks whose SLA ladder has taken a step (a share of the SLA has passed), by current queue.",
            labels=["queue"],
        )
        if self._counts is not None:
            counts = {**dict.fromkeys(self._queues, 0), **self._counts}
            for queue, tasks in sorted(counts.items()):
                gauge.add_metric([queue], tasks)
        yield gauge


def postgres_counts(pool: asyncpg.Pool, schema: str = "public") -> Fetch:
    """The at-risk count per queue from the escalation records in `schema` (PostgresEscalationStore's tables)."""
    sql = SLA_RISK_SQL.format(tasks=f'"{schema}".escalation_tasks')

    async def fetch() -> dict[str, int]:
        rows = await pool.fetch(sql)
        return {str(row["queue"]): int(row["tasks"]) for row in rows}

    return fetch
