"""The notifier as a real OS process over real Kafka and PostgreSQL, with real HTTP servers as source systems."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import yaml

from tests.support.callback_server import CallbackServer
from tests.support.credentials import credentialed_config
from tests.support.infra import ROOT, Infra
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.config.credentials import new_secret
from workrouter.config.sources import hash_api_key
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.topics import TopicNames

SEED = ROOT / "deploy" / "config"
FAST = {  # retry quickly and give up soon, so the tests see every path in seconds
    "WR_CALLBACK_MAX_ATTEMPTS": "4",
    "WR_CALLBACK_BACKOFF_BASE_SECONDS": "0.05",
    "WR_CALLBACK_BACKOFF_CAP_SECONDS": "0.4",
    "WR_CALLBACK_TIMEOUT_SECONDS": "0.5",
    "WR_CALLBACK_CONNECT_TIMEOUT_SECONDS": "0.5",
    "WR_CALLBACK_CONCURRENCY": "8",
    "WR_NOTIFIER_POLL_SECONDS": "0.2",
    "WR_METRICS_PORT": "0",  # several test runs share the machine; a test that scrapes sets a free port
}


@dataclass
class NotifierWorld:
    """Topics, a database, callback servers by source, and notifier processes."""

    infra: Infra
    database_url: str
    folder: Path
    servers: dict[str, CallbackServer]
    events: dict[str, list[str]] = field(default_factory=dict)  # source -> events it subscribes to
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    bus: KafkaBus | None = None

    @property
    def topics(self) -> TopicNames:
        """The test's own topics."""
        return TopicNames(self.prefix)

    def write_config(self) -> Path:
        """The seed configuration with sources.yaml pointing at the test's servers."""
        config = self.folder / "config"
        credentialed_config(config)  # `workrouter service` refuses the seed's example tokens
        (config / "secrets").mkdir(exist_ok=True)
        for name, server in self.servers.items():  # never in sources.yaml itself
            (config / "secrets" / name).write_text(server.secret)
        sources = [
            {
                "name": name,
                "api_key_sha256": hash_api_key(new_secret()),  # never a shipped example: the service refuses those
                "callback_url": server.url,
                "callback_secret_file": f"secrets/{name}",
                "callback_events": self.events.get(name, ["completed", "cancelled"]),
            }
            for name, server in self.servers.items()
        ]
        (config / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
        return config

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a notifier process or a CLI call."""
        return {
            **os.environ,
            "WR_BROKER_URL": f"kafka://{self.infra.kafka_bootstrap}",
            "WR_DATABASE_URL": self.database_url,
            "WR_TOPIC_PREFIX": self.prefix,
            "WR_CONFIG_DIR": str(self.folder / "config"),
            "WR_NOTIFIER_GROUP": f"notifier-{self.prefix}",
            "WR_LOG_LEVEL": "INFO",
            **FAST,
            **extra,
        }

    def start_notifier(self, name: str = "notifier", **extra: str) -> subprocess.Popen[bytes]:
        """`workrouter service notifier` as its own process; its output goes to <folder>/<name>.log."""
        if not (self.folder / "config").exists():
            self.write_config()
        with (self.folder / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "workrouter.cli", "service", "notifier"],
                cwd=ROOT,
                env=self.env(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def log(self, name: str = "notifier") -> str:
        """What a notifier process wrote."""
        return (self.folder / f"{name}.log").read_text(errors="replace")

    async def cli(self, *args: str) -> tuple[int, str, str]:
        """Run `workrouter <args>` against the test's database: (exit code, stdout, stderr)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "workrouter.cli", *args, cwd=ROOT, env=self.env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def open(self) -> None:
        """Start the callback servers that should be up (the caller starts them) and a publishing bus."""
        self.bus = KafkaBus(
            self.infra.kafka_bootstrap, topics=self.topics.specs(), deadletter_topic=self.topics.deadletter
        )
        await self.bus.start()

    async def publish(self, histories: Iterable[Sequence[Envelope]], concurrency: int = 64) -> None:
        """Publish each task's events in order (tasks concurrently)."""
        assert self.bus is not None
        bus, topic, gate = self.bus, self.topics.tasks, asyncio.Semaphore(concurrency)

        async def one(history: Sequence[Envelope]) -> None:
            async with gate:
                for envelope in history:
                    await bus.publish(topic, envelope)

        await asyncio.gather(*(one(h) for h in histories))

    async def statuses(self) -> dict[tuple[str, str], int]:
        """Callbacks in the outbox by (source, status)."""
        conn = await asyncpg.connect(self.database_url)
        try:
            rows = await conn.fetch("SELECT source, status, count(*) AS n FROM notifier_callbacks GROUP BY 1, 2")
        except asyncpg.UndefinedTableError:
            return {}
        finally:
            await conn.close()
        return {(r["source"], r["status"]): r["n"] for r in rows}

    async def close(self) -> None:
        """Stop processes, servers and the bus."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for server in self.servers.values():
            server.release()
            server.stop()
        if self.bus is not None:
            await self.bus.stop()


def history(task_id: str, source: str, ending: te.TaskEvent, *middle: te.TaskEvent) -> list[Envelope]:
    """A task's captured event, what happened in between, and its ending, keyed by task id."""
    capture = te.TaskCaptured(
        task_id=task_id, source=source, external_id=f"EXT-{task_id}", type="claim", title=f"Task {task_id}",
        attributes={"callback_url": "http://127.0.0.1:9/steal"},  # never a target: only sources.yaml is
    )  # fmt: skip
    return [make_event(e, source="/test", key=task_id, subject=task_id) for e in (capture, *middle, ending)]


def callback_of(body: bytes) -> dict[str, Any]:
    """A callback body as JSON."""
    parsed: dict[str, Any] = json.loads(body)
    return parsed
