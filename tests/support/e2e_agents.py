"""Simulated agents that use the HTTP API only (docs/api-agents.md): what a desktop would do.

Every agent logs in, keeps its event stream open (reconnecting when the api restarts; the snapshot
then tells it what it missed) and comes back ready after a RONA. Push agents accept most offers,
reject or ignore a few; workbin claimers list the `claims` workbin and claim; get-next agents ask for
the next `experts` task and start it; supervisors also claim what is parked in their personal
workbin. An assigned task is worked for a moment, then completed with a wrap-up code, or, when its
plan says so and nobody did yet, transferred or rescheduled. Think and work times are sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.e2e_config import WRAP_UP_CODES, AgentSpec
from tests.support.e2e_http import ApiGone, Http, agent_headers
from tests.support.e2e_plan import Script

REJECT, IGNORE = 0.03, 0.02  # shares of offers rejected and left to time out (RONA)
WORK = (0.1, 0.5)  # seconds an agent works on a task
GONE = (403, 404)  # not (or no longer) ours: someone else has it, or it left


def _later() -> dict[str, Any]:
    """A reschedule's body: five seconds from now (made afresh for each attempt)."""
    wake = datetime.now(UTC) + timedelta(seconds=5)
    return {"wake_at": wake.isoformat(), "reason": "customer asked for later"}


class SimAgent:
    """One agent at its desktop."""

    def __init__(self, spec: AgentSpec, http: Http, script: Script, seed: int) -> None:
        self.spec, self.http, self.script = spec, http, script
        self.rng = random.Random(seed)
        self.headers = agent_headers(spec.token)
        self.working: set[str] = set()
        self.given_again: set[str] = set()
        self.answered: set[str] = set()
        self.returning = self.stopping = False
        self.spawned: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Log in and act until `stop` is set."""
        await self._ready()
        loops = [self._stream(stop)]
        roles = {"pull": self._claim_loop, "next": self._next_loop, "supervisor": self._personal_loop}
        loop = roles.get(self.spec.role)
        if loop is not None:
            loops.append(loop(stop))
        try:
            await asyncio.gather(*loops)
        finally:
            self.stopping = True
            spawned = list(self.spawned)
            for task in spawned:
                task.cancel()
            await asyncio.gather(*spawned, return_exceptions=True)  # their requests end before the pool closes

    async def _call(self, method: str, path: str, body: Any = None) -> httpx.Response | None:
        try:
            return await self.http.call(method, path, headers=self.headers, body=body)
        except ApiGone:
            self.script.did["api_gone"] += 1
            return None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.spawned.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.spawned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.script.problems.append(f"{self.spec.id}: {task.exception()!r}")

    async def _ready(self) -> None:
        await self._call("POST", "/v1/agent/presence", {"presence": "ready"})

    async def _stream(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with contextlib.aclosing(self.http.events(self.headers)) as events:  # closed when cancelled
                    async for name, data in events:
                        self._on(name, data)
                        if stop.is_set():
                            return
            except (httpx.TransportError, httpx.HTTPStatusError):
                self.script.did["stream_reconnects"] += 1
            await asyncio.sleep(0.3)  # the api restarts: connect again soon

    def _on(self, name: str, data: dict[str, Any]) -> None:
        if name == "snapshot":
            self._on_presence(data.get("presence"), data.get("reason"))
            for hold in data.get("holds", []):
                if hold.get("state") == "offered":
                    self._on_offer(hold["task_id"], hold["offer_id"])
                elif hold.get("state") == "claimed":
                    self._take(hold["task_id"], start=True)
                elif hold.get("state") == "assigned":
                    self._take(hold["task_id"])
        elif name == "offered" and data.get("how", "offer") == "offer":
            self._on_offer(data["task_id"], data["offer_id"])
        elif name == "assigned" and data.get("how") not in ("pull", "personal"):  # claims: known from the 200
            self._take(data["task_id"])
        elif name == "presence":
            self._on_presence(data.get("presence"), data.get("reason"))

    def _on_presence(self, presence: Any, reason: Any) -> None:
        if presence != "ready" and not self.returning:
            self.returning = True
            self.script.did[f"back_from_{reason or presence}"] += 1
            self._spawn(self._come_back())

    async def _come_back(self) -> None:
        await asyncio.sleep(0.3)  # the agent notices and sets itself ready again
        self.returning = False
        await self._ready()

    def _on_offer(self, task_id: str, offer_id: str) -> None:
        if offer_id not in self.answered:
            self.answered.add(offer_id)
            self._spawn(self._answer(task_id, offer_id))

    async def _answer(self, task_id: str, offer_id: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, 0.1))  # think time
        roll = self.rng.random()
        if roll < IGNORE:
            self.script.did["ignored"] += 1
            return
        answer = "reject" if roll < IGNORE + REJECT else "accept"
        response = await self._call("POST", f"/v1/agent/offers/{task_id}/{answer}", {"offer_id": offer_id})
        if response is not None and response.status_code == 202:
            self.script.did[f"{answer}ed"] += 1
        else:  # the offer timed out (RONA) or was taken back before the answer arrived
            self.script.did[f"late_answer_{None if response is None else response.status_code}"] += 1

    def _take(self, task_id: str, *, start: bool = False) -> None:
        if task_id in self.working:  # given again while its last round is not over (a transfer back to us)
            self.given_again.add(task_id)
            return
        self.working.add(task_id)
        self._spawn(self._work(task_id, start=start))

    async def _work(self, task_id: str, *, start: bool = False) -> None:
        try:
            if start:
                response = await self._call("POST", f"/v1/agent/tasks/{task_id}/start")
                if response is None or response.status_code != 202:
                    self.script.did["late_start"] += 1
                    return
            await asyncio.sleep(self.rng.uniform(*WORK))
            action = self.script.hand_back(task_id)
            if action == "transfer":
                await self._act(task_id, "transfer", lambda: {"queue": "general", "reason": "needs a generalist"})
            elif action == "reschedule":
                await self._act(task_id, "reschedule", _later)
            else:
                code = self.rng.choice([*WRAP_UP_CODES, None])
                await self._act(task_id, "complete", lambda: {} if code is None else {"wrap_up_code": code})
        finally:
            self.working.discard(task_id)
            if task_id in self.given_again and not self.stopping:  # again (a repeated notice finds it gone)
                self.given_again.discard(task_id)
                self._take(task_id)

    async def _act(self, task_id: str, action: str, body: Callable[[], dict[str, Any]]) -> None:
        """POST the action; a 409 (the router has not caught up with a start or a claim yet) is tried again."""
        text = "the api did not answer"
        again = (409, 422) if action == "reschedule" else (409,)  # 422: wake_at passed while the api was busy
        for _ in range(150):
            response = await self._call("POST", f"/v1/agent/tasks/{task_id}/{action}", body())
            if response is not None and response.status_code in GONE:
                self.script.did[f"{action}_gone"] += 1  # a late start: the claim went back to the queue
                return
            if response is not None and (response.status_code == 202 or "completed already" in response.text):
                self.script.did[action] += 1
                return
            if response is not None:
                text = f"{response.status_code} {response.text[:300]}"
                if response.status_code not in again:
                    break
            await asyncio.sleep(0.2)
        self.script.problems.append(f"{self.spec.id} could not {action} {task_id}: {text}")

    def _full(self) -> bool:
        return len(self.working) >= self.spec.capacity

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            listed = None if self._full() else await self._call("GET", "/v1/agent/workbins/claims?limit=10")
            tasks = [] if listed is None or listed.status_code != 200 else listed.json()["tasks"]
            mine = [t["task_id"] for t in tasks if not self.script.skipped(t["task_id"])][:3]
            if not mine:
                await asyncio.sleep(1.0)  # nothing for this agent now: look again in a second
                continue
            task_id = self.rng.choice(mine)
            claimed = await self._call("POST", f"/v1/agent/workbins/claims/claim/{task_id}")
            if claimed is not None and claimed.status_code == 200:
                self.script.did["claimed"] += 1
                self._take(task_id)
            else:
                await asyncio.sleep(0.1)

    async def _next_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            got = None if self._full() else await self._call("POST", "/v1/agent/next")
            if got is not None and got.status_code == 200:
                self.script.did["got_next"] += 1
                self._take(got.json()["task"]["task_id"], start=True)
            else:
                await asyncio.sleep(1.0)

    async def _personal_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            listed = await self._call("GET", "/v1/agent/workbin")
            for task in [] if listed is None or listed.status_code != 200 else listed.json()["tasks"]:
                if self._full():
                    break
                claimed = await self._call("POST", f"/v1/agent/claim/{task['task_id']}")
                if claimed is not None and claimed.status_code == 200:
                    self.script.did["claimed_personal"] += 1
                    self._take(task["task_id"])
            await asyncio.sleep(1.0)
