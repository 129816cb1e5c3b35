"""The local Prometheus (deploy/local/prometheus.sh) for tests: start it, add scrape targets, run queries.

Targets are files in the server's file-discovery folder; a test writes its own file (its processes,
each with a `service` label and a `run` label unique to the test) and deletes it at the end, so
tests on one machine share one server without seeing each other's targets.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.infra import ROOT

SCRIPT = ROOT / "deploy" / "local" / "prometheus.sh"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def local_dir() -> Path:
    """The state folder of the local servers (WR_LOCAL_DIR, as the scripts read it)."""
    return Path(os.environ.get("WR_LOCAL_DIR", ROOT / ".local"))


def start() -> str:
    """Start the local Prometheus if it is not running (idempotent); returns its base URL."""
    done = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"deploy/local/prometheus.sh up failed:\n{done.stdout}{done.stderr}")
    return f"http://127.0.0.1:{os.environ.get('WR_LOCAL_PROMETHEUS_PORT', '19090')}"


class Targets:
    """This test's scrape targets: one file in the discovery folder, rewritten on every change."""

    def __init__(self, run: str | None = None) -> None:
        self.run = run or f"t{uuid.uuid4().hex[:10]}"
        self.file = local_dir() / "prometheus" / "targets" / f"test-{self.run}.json"
        self.entries: list[dict[str, Any]] = []

    def add(self, service: str, address: str, **labels: str) -> None:
        """Scrape http://<address>/metrics with labels service=<service>, run=<this run> and `labels`."""
        self.entries.append({"targets": [address], "labels": {"service": service, "run": self.run, **labels}})
        self.file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.file.with_suffix(".tmp")  # not *.json: never read half-written
        temporary.write_text(json.dumps(self.entries, indent=1))
        temporary.replace(self.file)

    def remove(self) -> None:
        """Stop scraping them (Prometheus marks their series stale)."""
        self.file.unlink(missing_ok=True)


async def query(http: httpx.AsyncClient, base_url: str, expr: str) -> tuple[str, Any]:
    """An instant query: ("success", result list) or ("error", the error text)."""
    response = await http.post(f"{base_url}/api/v1/query", data={"query": expr})
    try:
        body = response.json()
    except ValueError:
        return "error", f"HTTP {response.status_code}: {response.text[:500]}"
    if body.get("status") != "success":
        return "error", f"{body.get('errorType', '')}: {body.get('error', response.text[:500])}"
    return "success", body["data"]["result"]
