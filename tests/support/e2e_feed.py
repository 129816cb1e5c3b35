"""The source systems of the end-to-end test: tasks in over REST and over `wr.capture`, later commands on some.

Tasks are sent at a fixed offered load (tasks per second, whatever each request costs). A REST
request is retried across api restarts with the very same body (a repeat is harmless: capture is
idempotent on source and external id). After a task planned so is queued, its source cancels or
completes it, over REST or Kafka by turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.e2e_config import API_KEYS
from tests.support.e2e_http import Http, source_headers
from tests.support.e2e_plan import EXPIRES_IN, PlannedTask, Send
from tests.support.router_world import World
from workrouter.contracts import commands as c
from workrouter.contracts.envelope import Payload, make_event
from workrouter.contracts.topics import capture_key


class Feeder:
    """Sends planned tasks and the sources' later commands; counts what it sent."""

    def __init__(self, world: World, http: Http) -> None:
        self.world, self.http = world, http
        self.bodies: dict[str, dict[str, Any]] = {}  # external id -> the body sent (the same on every retry)
        self.sent_tasks: list[PlannedTask] = []  # every task sent so far, over every feed, in order
        self.commanded: set[str] = set()  # tasks their source has cancelled or completed
        self.sending = False

    @property
    def sent(self) -> int:
        """Tasks sent so far."""
        return len(self.sent_tasks)

    def body(self, task: PlannedTask) -> dict[str, Any]:
        """The task's body, fixed the first time it is sent."""
        if task.external_id not in self.bodies:
            body = dict(task.body)
            if task.plan == "expire":
                body["expires_at"] = (datetime.now(UTC) + timedelta(seconds=EXPIRES_IN)).isoformat()
            self.bodies[task.external_id] = body
        return self.bodies[task.external_id]

    async def feed(self, batches: list[Send], per_second: float, stop: asyncio.Event | None = None) -> None:
        """Send the batches, the n-th task due at start + n / per_second, until all are sent or `stop` is set."""
        loop = asyncio.get_running_loop()
        start, count = loop.time(), 0
        self.sending = True
        try:
            for send in batches:
                delay = start + count / per_second - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # the offered load's schedule, not a wait for an outcome
                if stop is not None and stop.is_set():
                    return
                self.sent_tasks += send.tasks
                await self.send(send)
                count += len(send.tasks)
        finally:
            self.sending = False

    async def send(self, send: Send) -> None:
        """One REST request or one Kafka message."""
        bodies = [self.body(t) for t in send.tasks]
        if send.way.startswith("rest"):
            payload: Any = bodies[0] if send.way == "rest_single" else bodies
            response = await self.http.call("POST", "/v1/tasks", headers=source_headers(API_KEYS[send.source]),
                                            body=payload)  # fmt: skip
            if response.status_code != 202:
                raise AssertionError(f"POST /v1/tasks ({send.way}): {response.status_code} {response.text[:500]}")
            return
        commands = [c.CaptureTask.model_validate({**b, "source": send.source}) for b in bodies]
        if send.way == "kafka_single":
            key = capture_key(send.source, commands[0].external_id)
            await self._publish(commands[0], key)
        else:
            await self._publish(c.CaptureTaskBatch(items=commands), f"{send.source}:batch")

    async def _publish(self, payload: Payload, key: str) -> None:
        assert self.world.bus is not None
        await self.world.bus.publish(self.world.topics.capture, make_event(payload, source="/e2e/source", key=key))

    async def source_commands(self, queued: Callable[[str], bool]) -> None:
        """While tasks are sent and until each is done: cancel or complete every task planned so once it is
        queued; REST and Kafka by turns."""
        while True:
            todo = [
                t for t in self.sent_tasks if t.plan in ("cancel", "source_done") and t.task_id not in self.commanded
            ]
            for task in todo:
                if queued(task.task_id):
                    await self._command(task, over_rest=len(self.commanded) % 2 == 0)
                    self.commanded.add(task.task_id)
            if not self.sending and all(t.task_id in self.commanded for t in todo):
                return
            await asyncio.sleep(0.5)  # the source system looks at its open items now and then

    async def _command(self, task: PlannedTask, *, over_rest: bool) -> None:
        action = "cancel" if task.plan == "cancel" else "complete"
        fields: dict[str, Any] = (
            {"reason": "customer withdrew"} if action == "cancel" else {"wrap_up_code": "processed"}
        )
        if over_rest:
            path = f"/v1/tasks/{task.external_id}/{action}"
            response = await self.http.call("POST", path, headers=source_headers(API_KEYS[task.source]), body=fields)
            if response.status_code != 202:
                raise AssertionError(f"POST {path}: {response.status_code} {response.text[:500]}")
            return
        model = c.CancelTask if action == "cancel" else c.CompleteTask
        command = model.model_validate({"source": task.source, "external_id": task.external_id, **fields})
        await self._publish(command, capture_key(task.source, task.external_id))
