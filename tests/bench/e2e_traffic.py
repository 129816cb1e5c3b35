"""What the benchmark puts on the topics: capture commands from the sources, and simulated agents' commands.

The agents publish their commands on wr.routing (keyed by domain) as the api would after an HTTP call,
and write presence and heartbeats to Redis as the api does: one Kafka message per action instead of an
HTTP request, a JSON body, a token check and a Redis read in the api, so the benchmark process spends
its CPU on the pipeline's load rather than on being 60 HTTP clients.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaProducer

from tests.support.wait import every
from workrouter.adapters.redis_agents import RedisAgentStore
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.codec import encode
from workrouter.contracts.envelope import Payload, make_event
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import Presence

HEARTBEAT_SECONDS = 5.0  # as the api does while an agent's event stream is open


class Publisher:
    """Fire-and-forget publishing (acks=all, idempotent, as the services' producers) with counts per topic."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        self.messages: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.errors: list[str] = []
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connect."""
        await self.producer.start()

    async def stop(self) -> None:
        """Wait for what is in flight, disconnect."""
        if self._pending:
            await asyncio.wait(self._pending, timeout=30)
        await self.producer.stop()

    def publish(self, topic: str, payload: Payload, key: str) -> int:
        """Encode and send in the background; returns the message's size in bytes."""
        value = encode(make_event(payload, source="/bench/e2e", key=key))
        self.messages[topic] += 1
        self.bytes[topic] += len(value)
        task = asyncio.create_task(self._send(topic, key, value))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return len(value)

    async def _send(self, topic: str, key: str, value: bytes) -> None:
        try:
            delivery = await self.producer.send(topic, value, key=key.encode())
            await delivery
        except Exception as exc:  # counted and reported: a benchmark keeps going and says what failed
            self.errors.append(f"{topic}: {exc!r}")


class Agents:
    """Ready agents that accept every offer at once, work `work_seconds` (±50 %), finish, and come back after
    a RONA or a heartbeat loss."""

    def __init__(
        self,
        publisher: Publisher,
        topics: TopicNames,
        store: RedisAgentStore,
        agents: dict[str, str],
        *,
        work_seconds: float,
        seed: int = 7,
    ) -> None:
        self.publisher, self.topics, self.store, self.agents = publisher, topics, store, agents
        self.work_seconds = work_seconds
        self.rng = random.Random(seed)
        self.actions: Counter[str] = Counter()  # accept, finish, back (ready again after RONA or heartbeat loss)
        self._tasks: set[asyncio.Task[None]] = set()

    def react(self, kind: str, data: dict[str, Any]) -> None:
        """Called by the observer for each task or presence event."""
        agent_id = data.get("agent_id")
        domain = self.agents.get(agent_id or "")
        if agent_id is None or domain is None:
            return
        if kind == "offered" and data.get("how") == "offer":
            answer = ac.AnswerOffer(
                agent_id=agent_id, domain=domain, task_id=data["task_id"], offer_id=data["offer_id"], accept=True
            )
            self.publisher.publish(self.topics.routing, answer, domain)
            self.actions["accept"] += 1
        elif kind == "accepted":
            delay = self.work_seconds * self.rng.uniform(0.5, 1.5)
            asyncio.get_running_loop().call_later(delay, self._finish, agent_id, domain, data["task_id"])
        elif kind == "presence_changed" and data.get("presence") != "ready":
            self.actions["back"] += 1
            self._spawn(self._ready(agent_id, domain))

    def _finish(self, agent_id: str, domain: str, task_id: str) -> None:
        done = ac.FinishTask(agent_id=agent_id, domain=domain, task_id=task_id, wrap_up_code="processed")
        self.publisher.publish(self.topics.routing, done, domain)
        self.actions["finish"] += 1

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ready(self, agent_id: str, domain: str) -> None:
        """What the api does when an agent says ready: Redis first, then the command for the router."""
        await self.store.set_presence(agent_id, Presence.READY, None, time.time())
        self.publisher.publish(
            self.topics.routing, ac.ChangePresence(agent_id=agent_id, domain=domain, presence="ready"), domain
        )

    async def ready_all(self) -> None:
        """Every agent logs in, ready."""
        for agent_id, domain in self.agents.items():
            await self._ready(agent_id, domain)

    async def heartbeats(self, stop: asyncio.Event) -> None:
        """Every agent's heartbeat, every 5 s, until `stop`."""
        async for _ in every(HEARTBEAT_SECONDS, stop):
            now = time.time()
            for agent_id in self.agents:
                await self.store.heartbeat(agent_id, now)
