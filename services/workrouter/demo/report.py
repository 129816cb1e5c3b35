"""The demo's closing report: what the sources and agents did, and the historical reports of the
demo's period from the event log (the same SQL as `workrouter report` and GET /v1/reports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table

from workrouter.adapters.postgres.reports.runner import Report, run_report
from workrouter.demo.stats import DemoStats
from workrouter.domain.reporting.parse import parse_request

QUEUE_COLUMNS = (
    "queue",
    "offered",
    "answered",
    "abandoned",
    "transferred",
    "waiting",
    "ronas",
    "avg_wait_seconds",
    "max_wait_seconds",
    "avg_handle_seconds",
)
AGENT_COLUMNS = ("agent_id", "tasks_handled", "busy_seconds", "ready_seconds", "not_ready_seconds", "occupancy_pct")


def as_table(report: Report, columns: tuple[str, ...], title: str) -> Table:
    """The report's rows with the columns it has of `columns`."""
    shown = [c for c in columns if c in report.columns]
    table = Table(title=title)
    for column in shown:
        table.add_column(
            column.replace("_seconds", " (s)").replace("_", " "),
            justify="left" if column in ("queue", "agent_id") else "right",
        )
    for row in report.rows:
        table.add_row(*(_cell(row.get(c)) for c in shown))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def activity(stats: DemoStats) -> Table:
    """What the simulation did."""
    table = Table(title=f"The demo in {stats.elapsed():.0f} s", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for kind, count in sorted(stats.created.items()):
        table.add_row(f"created: {kind}", str(count))
    table.add_row("cancelled by a source", str(stats.cancelled))
    for action, count in sorted(stats.actions.items()):
        table.add_row(f"agents: {action}", str(count))
    for code, count in sorted(stats.wrap_ups.items()):
        table.add_row(f"wrap-up: {code}", str(count))
    for what, count in sorted(stats.callbacks.items()):
        table.add_row(f"callback to {what}", str(count))
    for what, count in sorted(stats.errors.items()):
        table.add_row(f"[red]unexpected: {what}[/]", str(count))
    return table


async def print_report(database_url: str, stats: DemoStats, console: Console, reports_url: str) -> None:
    """Print the closing report."""
    start = datetime.fromtimestamp(stats.started, UTC) - timedelta(seconds=1)
    end = datetime.now(UTC) + timedelta(seconds=1)
    request = parse_request(start.isoformat(), end.isoformat(), interval="total")
    console.print(activity(stats))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        queues = await run_report(pool, "queue-summary", request)
        agents = await run_report(pool, "agent-stats", request)
    finally:
        await pool.close()
    console.print(as_table(queues, QUEUE_COLUMNS, "Queues (queue-summary report, from the event log)"))
    console.print(as_table(agents, AGENT_COLUMNS, "Agents (agent-stats report, from the event log)"))
    frm, to = start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")
    console.print(
        f"Every report of this period, while `make up` (or `workrouter up --data <this data folder>`) runs: "
        f"{reports_url}/v1/reports/<name>?from={frm}&to={to}  (names in docs/reporting.md)"
    )
