"""The demo's live terminal view (rich): queues, waiting, agents by status, service level, escalations.

It reads the same Prometheus metrics a supervisor's Grafana shows (this process's registry: every
service runs in it) plus what the simulated sources and agents counted. Without a terminal (a pipe,
CI) it prints one summary line every few seconds instead.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable

from prometheus_client import REGISTRY
from prometheus_client.registry import CollectorRegistry
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from workrouter.demo.stats import DemoStats

Labels = dict[str, str]


def samples(name: str, registry: CollectorRegistry = REGISTRY) -> list[tuple[Labels, float]]:
    """(labels, value) of every sample called `name` in the registry."""
    return [(s.labels, s.value) for m in registry.collect() for s in m.samples if s.name == name]


def total(name: str, **match: str) -> float:
    """The sum of a metric's samples whose labels match."""
    return sum(v for labels, v in samples(name) if all(labels.get(k) == want for k, want in match.items()))


def by(name: str, label: str) -> dict[str, float]:
    """A metric summed per value of one label."""
    sums: dict[str, float] = defaultdict(float)
    for labels, value in samples(name):
        sums[labels.get(label, "")] += value
    return dict(sums)


def queue_table() -> Table:
    """One row per queue: waiting, held, oldest wait, available agents, service level now."""
    table = Table(title="Queues", expand=True)
    for column in ("queue", "waiting", "with agents", "oldest wait", "agents free", "service level now"):
        table.add_column(column, justify="left" if column == "queue" else "right")
    waiting, held = by("workrouter_tasks_waiting", "queue"), by("workrouter_tasks_held", "queue")
    oldest, free = by("workrouter_queue_oldest_wait_seconds", "queue"), by("workrouter_queue_agents_available", "queue")
    level: dict[str, str] = {}
    for labels, value in samples("workrouter_queue_service_level_ratio"):
        if labels.get("threshold_index") == "0":
            level[labels["queue"]] = f"{value:.0%} in {float(labels['threshold_seconds']):.0f}s"
    for queue in sorted(set(waiting) | set(held)):
        table.add_row(
            queue,
            f"{waiting.get(queue, 0):.0f}",
            f"{held.get(queue, 0):.0f}",
            f"{oldest.get(queue, 0):.0f}s",
            f"{free.get(queue, 0):.0f}",
            level.get(queue, "-"),
        )
    return table


def agent_table(stats: DemoStats) -> Table:
    """One row per simulated agent: presence, work in hand, tasks done."""
    table = Table(title="Agents", expand=True)
    for column in ("agent", "status", "working", "done"):
        table.add_column(column, justify="left" if column in ("agent", "status") else "right")
    colours = {"ready": "green", "not_ready": "yellow", "offline": "red"}
    for agent in sorted(stats.agents.values(), key=lambda a: a.agent_id):
        status = agent.presence + (f" ({agent.reason})" if agent.reason else "")
        colour = colours.get(agent.presence, "white")
        table.add_row(agent.agent_id, f"[{colour}]{status}[/]", f"{agent.working}/{agent.capacity}", str(agent.done))
    return table


def totals(stats: DemoStats) -> Table:
    """Counters of the whole run."""
    table = Table(title="So far", expand=True, show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    escalations = by("workrouter_escalations_total", "action")
    rows = [
        ("tasks created by the sources", sum(stats.created.values())),
        ("cancelled by the sources", stats.cancelled),
        ("offers made", total("workrouter_offers_total")),
        ("assignments", total("workrouter_assignments_total")),
        ("RONAs (offer not answered)", total("workrouter_ronas_total")),
        ("completed with a wrap-up code", stats.actions["completed"]),
        ("escalation steps", sum(escalations.values())),
        ("callbacks received by the sources", sum(stats.callbacks.values())),
    ]
    for what, count in rows:
        table.add_row(what, f"{count:.0f}")
    agents = by("workrouter_agents", "status")
    table.add_row("agents ready / not ready", f"{agents.get('ready', 0):.0f} / {agents.get('not_ready', 0):.0f}")
    if stats.errors:
        table.add_row("[red]unexpected answers[/]", str(sum(stats.errors.values())))
    return table


def frame(stats: DemoStats, header: str) -> Panel:
    """The whole screen."""
    left = f"t+{stats.elapsed():.0f}s of {stats.seconds:.0f}s   (Ctrl-C ends the demo early)"
    return Panel(Group(queue_table(), agent_table(stats), totals(stats)), title=header, subtitle=left)


def line(stats: DemoStats) -> str:
    """One summary line, for output that is not a terminal."""
    return (
        f"t+{stats.elapsed():4.0f}s created {sum(stats.created.values())}, waiting "
        f"{total('workrouter_tasks_waiting'):.0f}, offered {total('workrouter_offers_total'):.0f}, assigned "
        f"{total('workrouter_assignments_total'):.0f}, completed {stats.actions['completed']}, RONAs "
        f"{total('workrouter_ronas_total'):.0f}, escalations {total('workrouter_escalations_total'):.0f}, "
        f"callbacks {sum(stats.callbacks.values())}"
    )


async def show(
    stats: DemoStats, header: str, console: Console, *, every: float = 1.0, say: Callable[[str], None] = print
) -> None:
    """Redraw the view every `every` seconds (a line every 5 s without a terminal) until cancelled."""
    if not console.is_terminal:
        while True:
            await asyncio.sleep(5.0)
            say(line(stats))
    with Live(frame(stats, header), console=console, refresh_per_second=4, screen=False) as live:
        while True:
            started = time.monotonic()
            live.update(frame(stats, header))
            await asyncio.sleep(max(0.1, every - (time.monotonic() - started)))
