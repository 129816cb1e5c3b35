"""The seven services as OS processes (`workrouter.cli service <name>`) on one run's topics, Redis keys and
database; with `instances` > 1, that many processes of each Kafka consumer, one consumer group per service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.bench.e2e_instances import all_instances, service_of
from tests.support.callback_server import free_port
from tests.support.infra import ROOT, Infra

# The service under cProfile with a CPU clock (the default wall clock counts the time spent waiting in epoll).
PROFILED = """
import cProfile, runpy, sys, time
profile = cProfile.Profile(time.process_time)
sys.argv = ["workrouter", "service", {service!r}]
try:
    profile.runcall(runpy.run_module, "workrouter.cli", run_name="__main__")
except SystemExit:
    pass
finally:
    profile.dump_stats({dump!r})
"""
HTTP_SERVED = ("reporting", "api")  # their /metrics is on WR_HTTP_PORT; the others have WR_METRICS_PORT


@dataclass
class Stack:
    """Names, ports and processes of one benchmark run."""

    infra: Infra
    database_url: str
    config_dir: Path
    logs: Path
    run: str
    instances: int = 1  # processes of each service that consumes Kafka (the api runs once)
    ports: dict[str, int] = field(default_factory=dict)  # instance name -> its /metrics port
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # instance name -> process
    profile: str | None = None  # the service to run under cProfile (its first instance; dump: <logs>/<name>.prof)

    def __post_init__(self) -> None:
        self.ports = self.ports or {name: free_port() for name in self.names}

    @property
    def names(self) -> list[str]:
        """Every process of the stack: `router`, or `router-1` and `router-2` with two instances."""
        return all_instances(self.instances)

    def of(self, service: str) -> list[str]:
        """The instances of one service."""
        return [name for name in self.names if service_of(name) == service]

    @property
    def prefix(self) -> str:
        """Topic prefix of this run."""
        return f"bench-{self.run}."

    @property
    def redis_prefix(self) -> str:
        """Redis key prefix of this run."""
        return f"bench-wr-{self.run}"

    @property
    def profiled(self) -> str | None:
        """The instance under cProfile: the profiled service's first."""
        return self.of(self.profile)[0] if self.profile else None

    @property
    def profile_dump(self) -> Path:
        """Where the profiled instance's cProfile dump goes."""
        return self.logs / f"{self.profiled}.prof"

    def metrics_url(self, name: str) -> str:
        """Where the instance serves /metrics."""
        return f"http://127.0.0.1:{self.ports[name]}/metrics"

    def group(self, service: str) -> str:
        """The consumer group all instances of a service share."""
        return f"{service}-{self.run}"

    def start(self) -> None:
        """Start every instance: those of one service share its consumer group, each has its own port."""
        for name in self.names:
            service = service_of(name)
            port = "WR_HTTP_PORT" if service in HTTP_SERVED else "WR_METRICS_PORT"
            env = {
                **os.environ,
                "WR_BROKER_URL": f"kafka://{self.infra.kafka_bootstrap}",
                "WR_REDIS_URL": self.infra.redis_url,
                "WR_DATABASE_URL": self.database_url,
                "WR_TOPIC_PREFIX": self.prefix,
                "WR_REDIS_PREFIX": self.redis_prefix,
                "WR_CONFIG_DIR": str(self.config_dir),
                "WR_LOG_LEVEL": "INFO",
                f"WR_{service.upper()}_GROUP": self.group(service),
                "WR_POISON_GROUP": self.group("prioritiser-poison"),  # not the default, which every run shares
                port: str(self.ports[name]),
            }
            cmd = [sys.executable, "-m", "workrouter.cli", "service", service]
            if name == self.profiled:
                cmd = [sys.executable, "-c", PROFILED.format(service=service, dump=str(self.profile_dump))]
            with (self.logs / f"{name}.log").open("wb") as out:
                self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def pids(self) -> dict[str, int]:
        """Service name -> process id."""
        return {name: proc.pid for name, proc in self.procs.items()}

    def check_alive(self) -> None:
        """Fail, with the end of its log, when a service process has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the {name} service exited with {proc.returncode}:\n{tail}")

    async def wait_ready(self, timeout: float = 120.0) -> float:
        """Until every service answers on its /metrics; returns the seconds it took."""
        start = time.monotonic()
        waiting = set(self.names)
        async with httpx.AsyncClient(timeout=2) as http:
            while waiting:
                self.check_alive()
                if time.monotonic() - start > timeout:
                    raise RuntimeError(f"services not serving /metrics after {timeout:.0f}s: {sorted(waiting)}")
                for name in sorted(waiting):
                    try:
                        if (await http.get(self.metrics_url(name))).status_code == 200:
                            waiting.discard(name)
                    except httpx.TransportError:
                        pass
                await asyncio.sleep(0.25)
        return time.monotonic() - start

    def stop(self) -> None:
        """SIGTERM every process, wait for it, kill what does not stop."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
