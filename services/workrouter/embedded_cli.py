"""`workrouter up` and `workrouter demo`: the one-process mode from the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console

from workrouter.config.credentials import IssuedCredentials, issue_credentials
from workrouter.contracts.codec import describe
from workrouter.credentials_cli import refuse_shipped_or_exit
from workrouter.embedded.process import Addresses, run_all
from workrouter.embedded.stores import EmbeddedStoreError, start_stores
from workrouter.settings import ProcessSettings

DEFAULT_DATA = Path(os.environ.get("WR_DATA_DIR", "~/.local/share/workrouter"))


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="data folder of PostgreSQL, Redis and the bus journal (WR_DATA_DIR)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("WR_CONFIG_DIR", "deploy/config")),
        help="configuration folder (WR_CONFIG_DIR)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of every HTTP endpoint")
    parser.add_argument("--port", type=int, default=8080, help="the api (capture, agents, supervisors)")
    parser.add_argument("--reports-port", type=int, default=8090, help="the historical reports")
    parser.add_argument("--metrics-port", type=int, default=9100, help="Prometheus /metrics of the whole process")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="INFO")
    parser.add_argument("--seconds", type=float, default=180.0, help="demo only: how long it runs (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=1.0, help="demo only: work items created per second")
    parser.add_argument(
        "--speed",
        type=float,
        default=6.0,
        help="demo only: queue timings (widening, timeouts, after-work) this many times faster",
    )
    parser.add_argument("--seed", type=int, help="demo only: random seed (the same run again)")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `up` and `demo` to the workrouter command."""
    up = commands.add_parser("up", help="run every service in one process (embedded PostgreSQL and Redis)")
    _options(up)
    up.add_argument("--demo", action="store_true", help="with simulated sources, agents and a live view (= `demo`)")
    up.set_defaults(run=_up)
    demo = commands.add_parser("demo", help="run workrouter in one process with simulated sources and agents, live")
    _options(demo)
    demo.set_defaults(run=_up, demo=True)


def _up(args: argparse.Namespace) -> int:
    console = Console()
    if not console.is_terminal:  # a pipe or a CI log: wide enough for the tables
        console = Console(width=120)
    if not (args.config / "queues.yaml").exists():
        console.print(
            f"[red]no workrouter configuration in {args.config}[/]: run from the repository, or pass --config DIR"
        )
        return 2
    data = args.data.expanduser()
    config = args.config
    issued = None
    if args.demo:
        from workrouter.demo.timelapse import demo_config  # noqa: PLC0415 - the demo only when asked

        data.mkdir(parents=True, exist_ok=True)
        config = demo_config(args.config, data, args.speed)
        issued = issue_credentials(config)
        console.print(
            f"[dim]demo configuration: {args.config} with queue timings {args.speed:g}x faster and fresh "
            f"credentials, in {config}[/]"
        )
        print_credentials(console, issued)
    elif refuse_shipped_or_exit(config, "workrouter up"):
        return 2
    try:  # WR_METRICS_TOKEN_SHA256, and the refusal of an open /metrics on a non-loopback --host
        metrics = ProcessSettings(metrics_host=args.host, metrics_port=args.metrics_port)
    except ValidationError as exc:
        console.print(f"[red]workrouter up: {describe(exc)}[/]")
        return 2
    at = Addresses(
        config, args.host, args.port, args.reports_port, args.metrics_port, args.log_level, metrics.metrics_token_sha256
    )
    _log_to(data, args.log_level, to_file=bool(args.demo))
    try:
        asyncio.run(_main(at, data, args, console, issued))
    except (EmbeddedStoreError, OSError) as exc:
        console.print(f"[red]workrouter up: {exc}[/]")
        return 1
    return 0


def _log_to(data: Path, level: str, *, to_file: bool) -> None:
    data.mkdir(parents=True, exist_ok=True)
    handler: logging.Handler = (
        logging.FileHandler(data / "workrouter.log") if to_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("aiokafka", "faststream", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _main(
    at: Addresses, data: Path, args: argparse.Namespace, console: Console, issued: IssuedCredentials | None
) -> None:
    stores = await start_stores(data, progress=lambda text: console.print(f"[dim]{text}[/]"))
    try:
        console.print("[dim]starting capture, prioritiser, router, escalation, reporting, notifier and api ...[/]")
        stop = asyncio.Event()
        extra = None
        if issued is not None:
            from workrouter.demo.run import DemoOptions, demo_wiring  # noqa: PLC0415 - the demo only when asked

            extra, _ = demo_wiring(
                at,
                stores.database_url,
                DemoOptions(args.seconds, args.rate, args.seed),
                console,
                stop,
                credentials=issued,
            )

        logs = f"in {data / 'workrouter.log'}" if args.demo else "below"

        def ready() -> None:
            console.print(
                f"[bold green]workrouter is running[/] (data in {data}; log {logs})\n"
                f"  api      {at.api_url}   (POST /v1/tasks with a source's X-API-Key; docs at /docs)\n"
                f"  desktop  {at.api_url}/ui/agent   (the agent desktop: sign in with an agent's token)\n"
                f"  reports  {at.reports_url}/v1/reports\n"
                f"  metrics  http://{at.host}:{at.metrics_port}/metrics\n"
                "  Ctrl-C stops it; what is in flight is finished first."
            )

        await run_all(
            at,
            stores.database_url,
            stores.redis_url,
            extra=extra,
            stop=stop,
            ready=ready,
            journal_dir=stores.data_dir / "bus",
        )
    finally:
        await asyncio.to_thread(stores.stop)


def print_credentials(console: Console, issued: IssuedCredentials) -> None:
    """Print the demo's fresh credentials, once: they are not stored in clear anywhere else."""
    console.print("[bold]the demo's credentials[/] (fresh for this run; only their hashes are in the configuration):")
    for line in issued.lines():
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print("  the reports and the supervisor API take a supervisor's token (sam in the demo)", highlight=False)
