"""The `workrouter` command: the composition root that wires libs and services together."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workrouter import config_cli as config
from workrouter import credentials_cli as credentials
from workrouter import embedded_cli as embedded
from workrouter.adapters.bus_factory import build_bus
from workrouter.config.sources import hash_api_key
from workrouter.contracts import asyncapi
from workrouter.contracts.codec import describe
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import make_event
from workrouter.contracts.topics import ALL_TOPICS, TopicNames
from workrouter.services.api import service as api
from workrouter.services.api.passwords import hash_password
from workrouter.services.capture import service as capture
from workrouter.services.escalation import service as escalation
from workrouter.services.notifier import admin as callbacks
from workrouter.services.notifier import service as notifier
from workrouter.services.prioritiser import service as prioritiser
from workrouter.services.reporting import cli as reports
from workrouter.services.reporting import service as reporting
from workrouter.services.router import service as router
from workrouter.settings import ProcessSettings

SERVICES = ("capture", "prioritiser", "router", "escalation", "reporting", "notifier", "api")


def _asyncapi(args: argparse.Namespace) -> int:
    text = asyncapi.render(version("workrouter"))
    path = Path(args.output)
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is out of date with the code: run `make asyncapi` and commit it", file=sys.stderr)
            return 1
        print(f"{path} matches the code")
        return 0
    path.write_text(text)
    print(f"wrote {path} ({len(text.splitlines())} lines)")
    return 0


def _topics(_: argparse.Namespace) -> int:
    for topic in ALL_TOPICS:
        print(f"{topic.name:<14} partitions={topic.partitions:<3} key={topic.key}")
    return 0


SETTINGS: dict[str, type[ProcessSettings]] = {
    "capture": capture.CaptureSettings,
    "prioritiser": prioritiser.PrioritiserSettings,
    "router": router.RouterSettings,
    "escalation": escalation.EscalationSettings,
    "reporting": reporting.ReportingSettings,
    "notifier": notifier.NotifierSettings,
    "api": api.ApiSettings,
}


def _service(args: argparse.Namespace) -> int:
    try:
        settings: Any = SETTINGS[args.name]()
    except ValidationError as exc:
        print(f"workrouter service {args.name}: {describe(exc)}", file=sys.stderr)
        return 2
    refused = credentials.refuse_shipped_or_exit(settings.config_dir, f"workrouter service {args.name}")
    if refused:
        return refused
    module: Any = {
        "capture": capture,
        "prioritiser": prioritiser,
        "router": router,
        "escalation": escalation,
        "reporting": reporting,
        "notifier": notifier,
        "api": api,
    }[args.name]
    asyncio.run(module.main(settings))
    return 0


def _hash_key(args: argparse.Namespace) -> int:
    print(hash_api_key(args.key))
    return 0


def _hash_password(_: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("an empty password is no password", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


async def _publish_reclassify(command: ReclassifyTask) -> str:
    settings = ProcessSettings()
    topics = TopicNames(settings.topic_prefix)
    bus = build_bus(settings, client_id="wr-cli")
    await bus.start()
    try:
        await bus.publish(topics.tasks, make_event(command, source="/workrouter/cli", key=command.task_id))
    finally:
        await bus.stop()
    return topics.tasks


def _cli_user() -> str:
    """`cli:<os user>@<host>`, for the audit trail of a command run by hand."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container)
        user = str(os.getuid())
    return f"cli:{user}@{socket.gethostname()}"[:64]


def _reclassify(args: argparse.Namespace) -> int:
    if ProcessSettings().broker_url.startswith("memory:"):
        # the in-process bus lives inside one process: publishing on a bus of our own would reach nobody
        print(
            "workrouter reclassify: nothing sent. WR_BROKER_URL is memory:// (the default), and an in-process bus "
            "belongs to the process that runs it: a `workrouter up` cannot be reached from here. Run this with "
            "WR_BROKER_URL=kafka://host:port set to the Kafka of the running services.",
            file=sys.stderr,
        )
        return 2
    command = ReclassifyTask(task_id=args.task_id, reason=args.reason, queue=args.queue, by=args.by)
    topic = asyncio.run(_publish_reclassify(command))
    target = f"to queue {args.queue}" if args.queue else "through the current rules"
    print(f"asked the prioritiser (on {topic}) to reclassify {args.task_id} {target}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    root = argparse.ArgumentParser(prog="workrouter", description="Open-source work distribution engine.")
    root.add_argument("--version", action="version", version=f"%(prog)s {version('workrouter')}")
    commands = root.add_subparsers(dest="command", required=True)
    embedded.add_commands(commands)
    commands.add_parser("topics", help="list the Kafka topics and their keys").set_defaults(run=_topics)
    svc = commands.add_parser("service", help="run one service as its own process (settings from WR_*)")
    svc.add_argument("name", choices=SERVICES)
    svc.set_defaults(run=_service)
    key = commands.add_parser("hash-key", help="print the sources.yaml api_key_sha256 of an API key")
    key.add_argument("key")
    key.set_defaults(run=_hash_key)
    commands.add_parser(
        "hash-password",
        help="print the agents.yaml password_argon2 of a password (asked for, or one line on standard input)",
    ).set_defaults(run=_hash_password)
    again = commands.add_parser(
        "reclassify", help="run a task through the rules again (releases an error_held task after a rule fix)"
    )
    again.add_argument("task_id")
    again.add_argument("--reason", default="released by supervisor", help="recorded as the deciding rule's reason")
    again.add_argument("--queue", help="send it to this queue instead of the rules' choice")
    again.add_argument(
        "--by", default=_cli_user(), help="who asks, recorded in the event log (default: cli:<user>@<host>)"
    )
    again.set_defaults(run=_reclassify)
    callbacks.add_commands(commands)
    config.add_commands(commands)
    credentials.add_commands(commands)
    reports.add_commands(commands)
    gen = commands.add_parser("asyncapi", help="write (or --check) the AsyncAPI document")
    gen.add_argument("--output", default="docs/asyncapi.yaml")
    gen.add_argument("--check", action="store_true", help="fail if the file differs from the code")
    gen.set_defaults(run=_asyncapi)
    return root


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `workrouter` console script."""
    args = parser().parse_args(argv)
    sys.exit(args.run(args))


if __name__ == "__main__":  # python -m workrouter.cli ...
    main()
