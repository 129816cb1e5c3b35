"""The demo: the embedded workrouter, simulated sources and agents, a live view, a closing report."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from rich.console import Console

from workrouter.config.credentials import IssuedCredentials
from workrouter.config.routing import load_routing_config
from workrouter.demo.agents import run_agents
from workrouter.demo.report import print_report
from workrouter.demo.sources import SOURCES, Sources, callback_app
from workrouter.demo.stats import DemoStats
from workrouter.demo.view import show
from workrouter.embedded.process import Addresses
from workrouter.runtime import HttpEndpoint, Wiring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    """How long and how busy."""

    seconds: float = 180.0  # 0: until Ctrl-C
    rate: float = 1.0  # work items per second, all sources together
    seed: int | None = None


def demo_wiring(
    at: Addresses,
    database_url: str,
    options: DemoOptions,
    console: Console,
    stop: asyncio.Event,
    *,
    credentials: IssuedCredentials,
) -> tuple[Wiring, DemoStats]:
    """The demo as a service of the embedded process: sources, agents, the view and a timer as
    loops; the sources' callback receivers as HTTP endpoints; the report once the bus is drained."""
    stats = DemoStats(seconds=options.seconds)
    rng = random.Random(options.seed)
    routing = load_routing_config(at.config_dir)
    sources = Sources(at.api_url, stats, options.rate, random.Random(rng.random()), credentials.source_keys)
    header = f"workrouter demo — api {at.api_url}  reports {at.reports_url}  metrics http://{at.host}:{at.metrics_port}/metrics"

    async def agents() -> None:
        await run_agents(at.api_url, routing, stats, random.Random(rng.random()), credentials.agent_tokens)

    async def view() -> None:
        await show(stats, header, console, say=console.print)

    async def timer() -> None:
        if options.seconds > 0:
            await asyncio.sleep(options.seconds)
            console.print("demo time is up: stopping the sources and agents, finishing what is in flight ...")
            stop.set()

    async def report() -> None:
        try:
            await print_report(database_url, stats, console, at.reports_url)
        except Exception as exc:  # the report must not hide a clean stop
            console.print(f"[red]the closing report failed: {type(exc).__name__}: {exc}[/]")

    receivers = [
        HttpEndpoint(f"{s.name} callbacks", callback_app(s.name, stats), at.host, s.callback_port, "warning")
        for s in SOURCES
        if s.callback_port is not None
    ]
    wiring = Wiring(background=[sources.run, agents, view, timer], http=receivers, stopping=[report])
    return wiring, stats
