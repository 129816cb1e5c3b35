"""The benchmark's view of the run: every message on wr.tasks, wr.routing, wr.agents and wr.deadletter, read raw.

Plain aiokafka without a group (all partitions, from the start) and `json.loads`, not the bus and the
pydantic models: the observer must keep up with several events per task while sharing two cores with
the pipeline it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer

from tests.bench.e2e_integrity import Ledger
from workrouter.contracts.topics import TopicNames

React = Callable[[str, dict[str, Any]], None]


@dataclass
class TaskTimes:
    """One task's moments (epoch seconds): sent by the benchmark, and the event times of its milestones."""

    sent: float
    captured: float | None = None  # TaskCaptured event time (capture service's clock)
    offered: float | None = None  # first TaskOffered (or TaskAccepted) event time (router's clock)
    offered_seen: float | None = None  # when the benchmark read that first offer
    completed: float | None = None
    events: int = 0  # events about it on wr.tasks


def event_time(text: str) -> float:
    """An RFC 3339 event time as epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class Observer:
    """Tasks' milestones, event counts by type, and messages and bytes per topic."""

    def __init__(self, bootstrap: str, topics: TopicNames, react: React, ledger: Ledger) -> None:
        self.roles = {
            topics.tasks: "tasks",
            topics.routing: "routing",
            topics.agents: "agents",
            topics.deadletter: "deadletter",  # counted: a healthy run has none
        }
        self.consumer = AIOKafkaConsumer(
            *self.roles,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self.react = react
        self.ledger = ledger  # every event, for the checks at the end (nothing lost, none held twice)
        self.tasks: dict[str, TaskTimes] = {}
        self.types: Counter[str] = Counter()  # wr.tasks events by kind (type suffix)
        self.messages: Counter[str] = Counter()  # by role: tasks, routing, agents
        self.bytes: Counter[str] = Counter()
        self.ready: set[str] = set()  # agents the router announced ready
        self._runner: asyncio.Task[None] | None = None

    def expect(self, task_id: str, sent: float) -> None:
        """The benchmark is about to send this task's capture command."""
        self.tasks[task_id] = TaskTimes(sent)

    async def start(self) -> None:
        """Connect and read in the background."""
        await self.consumer.start()
        self._runner = asyncio.create_task(self._run(), name="e2e-observer")

    async def stop(self) -> None:
        """Stop reading."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        await self.consumer.stop()

    def check(self) -> None:
        """Raise what made the reader stop, if it did."""
        if self._runner is not None and self._runner.done() and not self._runner.cancelled():
            self._runner.result()

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            for partition, records in batches.items():
                role = self.roles[partition.topic]
                for record in records:
                    self.messages[role] += 1
                    self.bytes[role] += len(record.value)
                    if role in ("tasks", "agents"):  # routing is counted only: the benchmark wrote most of it
                        self._on(role, json.loads(record.value))

    def _on(self, role: str, doc: dict[str, Any]) -> None:
        kind = doc["type"].rsplit(".", 1)[-1]
        data: dict[str, Any] = doc["data"]
        self.ledger.see(doc["id"], kind, data, doc["time"])
        if role == "agents":
            if data.get("presence") == "ready":
                self.ready.add(data["agent_id"])
            else:
                self.ready.discard(data["agent_id"])
            self.react(kind, data)
            return
        self.types[kind] += 1
        times = self.tasks.get(data.get("task_id", ""))
        if times is None:
            return
        times.events += 1
        if kind == "captured" and times.captured is None:
            times.captured = event_time(doc["time"])
        elif kind in ("offered", "accepted") and times.offered is None:
            times.offered = event_time(doc["time"])
            times.offered_seen = time.time()
        elif kind == "completed":
            times.completed = event_time(doc["time"])
        self.react(kind, data)

    def snapshot(self) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """Copies of the counters (event kinds, messages per topic, bytes per topic), for deltas over a window."""
        return Counter(self.types), Counter(self.messages), Counter(self.bytes)
