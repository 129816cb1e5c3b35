"""The seven services as OS processes (through World.start_service), each on its own port: start, health, kill -9.

Every process answers GET /healthz once it runs (reporting and api on their HTTP port, the others
on their metrics port), so the test knows when a restarted one is back. Consumer groups are the
test's own, so no other run on the Kafka cluster shares them.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

import httpx

from tests.support.callback_server import free_port
from tests.support.router_world import World
from tests.support.wait import wait_until_async

SERVICES = ("capture", "prioritiser", "router", "escalation", "reporting", "notifier", "api")
HTTP_PORT = frozenset({"reporting", "api"})  # these serve /healthz on WR_HTTP_PORT, the others on WR_METRICS_PORT
CALLBACKS = {  # retry soon and long: a slow answer from a busy test process must not become a dead letter
    "WR_CALLBACK_MAX_ATTEMPTS": "60",
    "WR_CALLBACK_BACKOFF_BASE_SECONDS": "0.2",
    "WR_CALLBACK_BACKOFF_CAP_SECONDS": "2",
    "WR_CALLBACK_TIMEOUT_SECONDS": "10",
    "WR_CALLBACK_CONNECT_TIMEOUT_SECONDS": "3",
    "WR_CALLBACK_CONCURRENCY": "8",
}


@dataclass
class Stack:
    """The running services of one test."""

    world: World
    database_url: str
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)
    kills: list[tuple[str, float, float]] = field(default_factory=list)  # service, killed at, back after (s)

    def url(self, service: str) -> str:
        """http://127.0.0.1:<port> of a service's HTTP or metrics endpoint."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        """The service's WR_* settings besides World's."""
        tag = self.world.group
        env = {"WR_DATABASE_URL": self.database_url, "WR_LOG_LEVEL": "WARNING" if service == "api" else "INFO"}
        port = str(self.ports[service])
        env["WR_HTTP_PORT" if service in HTTP_PORT else "WR_METRICS_PORT"] = port
        if service == "router":
            env["WR_ROUTER_GROUP"] = tag
        elif service != "api":
            env[f"WR_{service.upper()}_GROUP"] = f"{service}-{tag}"
        if service == "notifier":
            env.update(CALLBACKS)
        if service == "reporting":
            env["WR_REPORTING_WAIT_MS"] = "1000"  # fewer, larger batches: the reports are read at the end
        return env

    def start(self, service: str) -> None:
        """Start (or start again) one service; its log is <logs>/<service>-<n>.log."""
        n = self.starts[service] = self.starts.get(service, 0) + 1
        self.procs[service] = self.world.start_service(service, f"{service}-{n}", **self.env(service))

    def log(self, service: str) -> str:
        """The newest log of a service."""
        return self.world.log_text(f"{service}-{self.starts[service]}")

    async def healthy(self, service: str, http: httpx.AsyncClient) -> bool:
        """Whether the service's process runs and answers /healthz (fails at once if the process died)."""
        proc = self.procs[service]
        if proc.poll() is not None:
            raise AssertionError(f"{service} exited with {proc.returncode}:\n{self.log(service)[-4000:]}")
        try:
            return (await http.get(f"{self.url(service)}/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    async def wait_healthy(self, service: str, timeout: float) -> None:
        """Until the service answers /healthz."""
        async with httpx.AsyncClient(timeout=5) as http:

            def answers() -> Awaitable[bool]:
                return self.healthy(service, http)

            await wait_until_async(answers, timeout=timeout, interval=0.2, what=f"{service} answering /healthz")

    async def start_all(self, timeout: float = 120.0) -> None:
        """Start every service and wait until each answers."""
        for service in SERVICES:
            self.start(service)
        for service in SERVICES:
            await self.wait_healthy(service, timeout)

    async def kill_and_restart(self, service: str, timeout: float = 120.0) -> float:
        """SIGKILL the service, start it again at once, and wait until it answers; seconds until it did."""
        proc = self.procs[service]
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        self.start(service)
        await self.wait_healthy(service, timeout)
        back = time.monotonic() - killed
        self.kills.append((service, killed, back))
        return back

    def dead(self) -> list[str]:
        """Services whose current process has exited, with the end of its log."""
        return [f"{s} exited with {p.returncode}:\n{self.log(s)[-3000:]}" for s, p in self.procs.items()
                if p.poll() is not None]  # fmt: skip
