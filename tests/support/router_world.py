"""The router as real OS processes over real Kafka and Redis, simulated agents, and checks on the event log."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as redis
import yaml

from tests.support.infra import ROOT, Infra
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.bus.port import Delivery
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.common import SkillRequirement
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.contracts.task_events import TaskClassified
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import Presence

DOMAIN = "backoffice"
CAPACITY = {"a1": 2, "a2": 2, "a3": 3, "a4": 1, "a5": 2, "a6": 3}


def write_config(folder: Path, offer_timeout: str = "2s") -> Path:
    """queues.yaml (push `q`, pull `p`), agents.yaml (a1..a6) and codes.yaml for one domain."""
    folder.mkdir(parents=True, exist_ok=True)
    queues = [
        {
            "name": "q",
            "domain": DOMAIN,
            "tiers": [{"min_level": 50, "after_seconds": 0}, {"min_level": 0, "after_seconds": "20s"}],
            "offer_timeout_seconds": offer_timeout,
        },
        {"name": "p", "domain": DOMAIN, "mode": "pull", "claim_timeout_seconds": "5s"},
    ]
    agents = [
        {
            "id": a,
            "display_name": a.upper(),
            "skills": {"s": 30 + 10 * i},
            "queues": ["q", "p"],
            "capacity": {"workitem": cap},
            "token_sha256": hashlib.sha256(f"{a}-token".encode()).hexdigest(),
        }
        for i, (a, cap) in enumerate(CAPACITY.items())
    ]
    codes = {
        "not_ready_reasons": [{"id": "rona", "label": "RONA", "system": True}, {"id": "lunch", "label": "Lunch"}],
        "wrap_up_codes": [{"id": "processed", "label": "Processed"}],
    }
    for name, doc in (("queues", {"queues": queues}), ("agents", {"agents": agents}), ("codes", codes)):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    return folder


@dataclass
class World:
    """Names, clients and the log of everything the router published."""

    infra: Infra
    config_dir: Path
    logs: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")
    group: str = field(default_factory=lambda: f"router-{uuid.uuid4().hex[:8]}")
    redis_prefix: str = field(default_factory=lambda: f"test-wr-{uuid.uuid4().hex}")
    events: list[Envelope] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    bus: KafkaBus | None = None
    client: Any = None
    store: RedisAgentStore | None = None
    listener: Callable[[Envelope], None] | None = None  # called with each new event (the simulated agents)

    @property
    def topics(self) -> TopicNames:
        """The test's own topics."""
        return TopicNames(self.prefix)

    def start_router(self, name: str) -> subprocess.Popen[bytes]:
        """`workrouter service router` as its own process."""
        return self.start_service("router", name, WR_ROUTER_GROUP=self.group)

    def start_service(self, service: str, name: str, **env: str) -> subprocess.Popen[bytes]:
        """`workrouter service <service>` as its own process, on the world's topics, Redis and config."""
        full = {
            **os.environ,
            "WR_BROKER_URL": f"kafka://{self.infra.kafka_bootstrap}",
            "WR_REDIS_URL": self.infra.redis_url,
            "WR_DATABASE_URL": self.infra.database_url,
            "WR_TOPIC_PREFIX": self.prefix,
            "WR_REDIS_PREFIX": self.redis_prefix,
            "WR_CONFIG_DIR": str(self.config_dir),
            "WR_LOG_LEVEL": "INFO",
            **env,
        }
        cmd = [sys.executable, "-m", "workrouter.cli", "service", service]
        with (self.logs / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def log_text(self, name: str) -> str:
        """What a service process wrote."""
        return (self.logs / f"{name}.log").read_text(errors="replace")

    async def open(self) -> None:
        """Connect the driver: a bus that publishes and records wr.tasks and wr.agents, and Redis."""
        self.bus = KafkaBus(
            self.infra.kafka_bootstrap, topics=self.topics.specs(), deadletter_topic=self.topics.deadletter
        )
        self.bus.subscribe(self.topics.tasks, f"log-{self.group}", self._record)
        self.bus.subscribe(self.topics.agents, f"log-{self.group}", self._record)
        await self.bus.start()
        self.client = redis.from_url(self.infra.redis_url)
        self.store = RedisAgentStore(self.client, self.redis_prefix)

    async def close(self) -> None:
        """Stop processes and clients; delete the Redis keys."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.bus is not None:
            await self.bus.stop()
        if self.client is not None:
            keys = [k async for k in self.client.scan_iter(match=f"{self.redis_prefix}:*", count=1000)]
            if keys:
                await self.client.unlink(*keys)
            await self.client.aclose()

    async def _record(self, envelope: Envelope, _: Delivery) -> None:
        if envelope.id not in self.seen:  # redeliveries and re-announcements repeat ids
            self.seen.add(envelope.id)
            self.events.append(envelope)
            if self.listener is not None:
                self.listener(envelope)

    async def send(self, payload: Payload, key: str = DOMAIN) -> None:
        """Publish to wr.routing."""
        assert self.bus is not None
        await self.bus.publish(self.topics.routing, make_event(payload, source="/test", key=key))

    async def classify(self, task_id: str, queue: str = "q", priority: int = 100) -> None:
        """What the prioritiser sends for a task."""
        payload = TaskClassified(
            task_id=task_id,
            queue=queue,
            domain=DOMAIN,
            priority=priority,
            rule="r",
            ruleset_version="1",
            skills=[SkillRequirement(skill="s", min_level=0)],
            title=task_id,
            url=f"https://crm/{task_id}",
        )
        await self.send(payload)

    async def ready(self, agent_id: str) -> None:
        """What the api does when an agent says ready."""
        assert self.store is not None
        await self.store.set_presence(agent_id, Presence.READY, None, time.time())
        await self.send(ac.ChangePresence(agent_id=agent_id, domain=DOMAIN, presence="ready"))

    def of(self, kind: str) -> list[Any]:
        """Payloads of recorded events of one kind (type suffix), in arrival order."""
        return [e.data for e in list(self.events) if e.type.endswith("." + kind)]


class Agents:
    """Simulated agents: accept most offers, reject or ignore a few, work a moment, finish; back to ready after RONA."""

    def __init__(self, world: World, seed: int = 7, reject: float = 0.05, ignore: float = 0.03) -> None:
        self.world, self.rng, self.reject, self.ignore = world, random.Random(seed), reject, ignore
        self._tasks: set[asyncio.Task[None]] = set()
        world.listener = self.react

    def react(self, envelope: Envelope) -> None:
        """Answer an offer, work an assigned task, come back after a RONA."""
        data: Any = envelope.data
        kind = envelope.type.rsplit(".", 1)[-1]
        if kind == "offered" and data.how == "offer":
            self._spawn(self._answer(data))
        elif kind == "accepted":
            self._spawn(self._work(data.task_id, data.agent_id))
        elif kind == "presence_changed" and data.reason == "rona":
            self._spawn(self._back(data.agent_id))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, offer: Any) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, 0.05))  # think time before answering
        roll = self.rng.random()
        if roll < self.ignore:
            return  # the offer times out: RONA
        accept = roll >= self.ignore + self.reject
        await self.world.send(
            ac.AnswerOffer(
                agent_id=offer.agent_id, domain=DOMAIN, task_id=offer.task_id, offer_id=offer.offer_id, accept=accept
            )
        )

    async def _work(self, task_id: str, agent_id: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.02, 0.2))  # work time
        await self.world.send(
            ac.FinishTask(agent_id=agent_id, domain=DOMAIN, task_id=task_id, wrap_up_code="processed")
        )

    async def _back(self, agent_id: str) -> None:
        await asyncio.sleep(0.2)  # a moment before the agent sets itself ready again
        await self.world.ready(agent_id)


def overlapping_offers(events: list[Envelope]) -> list[str]:
    """Tasks offered or given to a second agent while a first still had it (per task, in log order)."""
    holder: dict[str, str | None] = {}
    bad: list[str] = []
    for envelope in events:
        data: Any = envelope.data
        kind = envelope.type.rsplit(".", 1)[-1]
        task_id: str = getattr(data, "task_id", "")
        if kind in ("offered", "accepted"):
            current = holder.get(task_id)
            if current is not None and current != data.agent_id:
                bad.append(f"{task_id}: {kind} to {data.agent_id} while {current} had it")
            holder[task_id] = data.agent_id
        elif kind in ("offer_revoked", "completed"):
            holder[task_id] = None
    return bad


def replay_holds(events: list[Envelope], capacity: dict[str, int]) -> tuple[dict[str, set[str]], list[str]]:
    """Replay holds per agent by event time (releases first on ties): what each agent holds at the end, and
    every moment an agent held more than its capacity."""
    rank = {"offer_revoked": 0, "completed": 0, "offered": 1, "accepted": 1}
    rows = [(e.time, rank[e.type.rsplit(".", 1)[-1]], e) for e in events if e.type.rsplit(".", 1)[-1] in rank]
    rows.sort(key=lambda r: (r[0], r[1]))
    held: dict[str, set[str]] = defaultdict(set)
    by_task: dict[str, str] = {}
    breaches: list[str] = []
    for _, order, envelope in rows:
        data: Any = envelope.data
        if order == 0:
            agent = by_task.pop(data.task_id, None)
            if agent is not None:
                held[agent].discard(data.task_id)
            continue
        by_task[data.task_id] = data.agent_id
        held[data.agent_id].add(data.task_id)
        if len(held[data.agent_id]) > capacity[data.agent_id]:
            breaches.append(f"{data.agent_id} held {sorted(held[data.agent_id])} at {envelope.time}")
    return held, breaches


def capacity_breaches(events: list[Envelope], capacity: dict[str, int]) -> list[str]:
    """Every moment the event log says an agent held more than its capacity."""
    return replay_holds(events, capacity)[1]
