"""Simulated agents using the agent API exactly as a desktop would (docs/api-agents.md): they log in,
follow their live event stream, think, accept most offers (reject a few, let a few time out: RONA),
work a while, finish with a wrap-up code, now and then transfer a task or take a break, and the
members of pull queues take work from their workbins."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx

from workrouter.config.routing import RoutingConfig
from workrouter.demo.stats import AgentState, DemoStats

log = logging.getLogger(__name__)
WRAP_UPS = ("processed",) * 6 + ("need_follow_up", "cross_sell", "up_sell")
TRANSFER_TO = {"backoffice": "general"}  # where a task goes when the agent hands it on


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) of a Server-Sent Events stream."""
    name, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            yield name, json.loads(data)
            name, data = "message", ""


class Agent:
    """One simulated agent."""

    def __init__(
        self,
        agent_id: str,
        http: httpx.AsyncClient,
        *,
        state: AgentState,
        stats: DemoStats,
        rng: random.Random,
        pull: list[str],
        domain: str,
        token: str,
    ) -> None:
        self.id, self.http, self.state, self.stats, self.rng = agent_id, http, state, stats, rng
        self.pull, self.domain = pull, domain
        self.headers = {"Authorization": f"Bearer {token}"}
        self.answered: set[str] = set()  # offers answered (or left to time out): never twice
        self.working: set[str] = set()  # tasks being worked: never twice
        self.jobs: dict[str, asyncio.Task[None]] = {}
        self.busy: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Log in and follow the event stream (reconnecting if it drops); pull work meanwhile."""
        puller = asyncio.create_task(self._pull()) if self.pull else None
        try:
            while True:
                try:
                    await self.presence("ready")
                    async with self.http.stream(
                        "GET", "/v1/agent/events", headers=self.headers, timeout=None
                    ) as stream:
                        async for event, data in sse_events(stream):
                            self._on(event, data)
                except httpx.HTTPError as exc:
                    self.stats.error(f"events: {type(exc).__name__}")
                    await asyncio.sleep(1.0)
        finally:
            for task in [*self.busy, *([puller] if puller else [])]:
                task.cancel()

    async def presence(self, presence: str, reason: str | None = None) -> None:
        """Tell workrouter the agent's presence."""
        body = {"presence": presence, **({"reason": reason} if reason else {})}
        answer = await self.http.post("/v1/agent/presence", json=body, headers=self.headers)
        if answer.status_code == 200:
            self.state.presence, self.state.reason = presence, reason

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.busy.add(task)
        task.add_done_callback(self.busy.discard)

    def _on(self, event: str, data: dict[str, Any]) -> None:
        if event == "snapshot":
            for hold in data.get("holds", []):  # after a reconnect or a restart: what is still ours
                if hold["state"] in ("offered", "assigned"):
                    self._on(
                        hold["state"], {**hold, "how": "offer" if hold["state"] == "offered" else hold.get("kind")}
                    )
        elif event == "offered" and data.get("how") == "offer" and data["task_id"] not in self.answered:
            self.answered.add(data["task_id"])
            self._spawn(self._answer(data["task_id"], data.get("offer_id")))
        elif event == "assigned" and data["task_id"] not in self.working:
            self._spawn(self._work(data["task_id"], check=True))
        elif event in ("withdrawn", "revoked") and data.get("task_id") in self.jobs:
            self.jobs[data["task_id"]].cancel()  # cancelled by its source, escalated away, ...
            self.stats.actions["taken away while worked"] += 1
        elif event == "presence":
            self.state.presence, self.state.reason = data.get("presence", "?"), data.get("reason")
            if data.get("reason") == "rona":
                self._spawn(self._back_after_rona())

    async def _answer(self, task_id: str, offer_id: str | None) -> None:
        await asyncio.sleep(self.rng.uniform(0.3, 1.5))  # reads the offer
        roll = self.rng.random()
        if roll < 0.04:
            self.stats.actions["ignored (RONA)"] += 1
            return
        verdict = "reject" if roll < 0.08 else "accept"
        answer = await self.http.post(
            f"/v1/agent/offers/{task_id}/{verdict}", json={"offer_id": offer_id}, headers=self.headers
        )
        if answer.status_code == 202:
            self.stats.actions[f"{verdict}ed"] += 1
        elif answer.status_code in (404, 409):  # the offer timed out or was withdrawn first
            self.stats.actions["answered too late"] += 1
        else:
            self.stats.error(f"{verdict}: {answer.status_code}")
            log.warning("%s could not %s %s: %s %s", self.id, verdict, task_id, answer.status_code, answer.text[:300])

    async def _assigned(self, task_id: str) -> bool:
        """Whether the task is assigned to this agent now (a notification may arrive late)."""
        me = await self.http.get("/v1/agent/me", headers=self.headers)
        holds = me.json().get("holds", []) if me.status_code == 200 else []
        return any(h["task_id"] == task_id and h["state"] == "assigned" for h in holds)

    async def _work(self, task_id: str, *, check: bool = False) -> None:
        self.working.add(task_id)
        if check and not await self._assigned(task_id):
            self.working.discard(task_id)
            return
        current = asyncio.current_task()
        if current is not None:
            self.jobs[task_id] = current
        self.state.working += 1
        try:
            await asyncio.sleep(self.rng.uniform(3.0, 10.0))  # the work itself
            if self.rng.random() < 0.05 and self.domain in TRANSFER_TO:
                body = {"queue": TRANSFER_TO[self.domain], "reason": "needs another team"}
                answer = await self.http.post(f"/v1/agent/tasks/{task_id}/transfer", json=body, headers=self.headers)
                self.stats.actions["transferred" if answer.status_code == 202 else "transfer refused"] += 1
                return
            code = self.rng.choice(WRAP_UPS)
            answer = await self.http.post(
                f"/v1/agent/tasks/{task_id}/complete", json={"wrap_up_code": code}, headers=self.headers
            )
            if answer.status_code == 202:
                self.stats.actions["completed"] += 1
                self.stats.wrap_ups[code] += 1
                self.state.done += 1
            elif answer.status_code in (403, 404):  # withdrawn meanwhile; the notification is on its way
                self.stats.actions["taken away while worked"] += 1
            else:
                self.stats.error(f"complete: {answer.status_code}")
                log.warning("%s could not complete %s: %s %s", self.id, task_id, answer.status_code, answer.text[:300])
        finally:
            self.working.discard(task_id)
            self.jobs.pop(task_id, None)
            self.state.working -= 1
        await self._maybe_break()

    async def _maybe_break(self) -> None:
        if self.state.working == 0 and self.rng.random() < 0.06:
            await self.presence("not_ready", "break")
            self.stats.actions["breaks"] += 1
            await asyncio.sleep(self.rng.uniform(10, 25))
            await self.presence("ready")

    async def _back_after_rona(self) -> None:
        await asyncio.sleep(self.rng.uniform(3, 8))  # the agent notices and comes back
        await self.presence("ready")

    async def _pull(self) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(2.0, 4.0))
            if self.state.presence != "ready" or self.state.working >= self.state.capacity:
                continue
            for queue in self.pull:
                with contextlib.suppress(httpx.HTTPError):
                    await self._claim_first(queue)

    async def _claim_first(self, queue: str) -> None:
        listing = await self.http.get(f"/v1/agent/workbins/{queue}", params={"limit": 5}, headers=self.headers)
        if listing.status_code != 200:
            return
        for task in listing.json().get("tasks", []):
            task_id = task["task_id"]
            if task_id in self.working:
                continue
            self.working.add(task_id)  # before asking: the "assigned" notification may come before the answer
            answer = await self.http.post(f"/v1/agent/workbins/{queue}/claim/{task_id}", headers=self.headers)
            if answer.status_code == 200:
                self.stats.actions["claimed from workbin"] += 1
                self._spawn(self._work(task_id))
                return
            self.working.discard(task_id)


async def run_agents(
    api_url: str, routing: RoutingConfig, stats: DemoStats, rng: random.Random, tokens: dict[str, str]
) -> None:
    """Every agent of the routing configuration except supervisors, each in its own task."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=api_url, timeout=10, limits=limits) as http:
        agents = []
        for agent_id, profile in sorted(routing.agents.items()):
            if agent_id in routing.supervisors:
                continue  # supervisors watch; they take escalations by force-assign, not here
            pull = sorted(q for q in profile.queues if routing.queues[q].mode.value == "pull")
            domain = routing.domain_of(agent_id) or ""
            state = stats.agents.setdefault(agent_id, AgentState(agent_id, capacity=max(profile.capacity.values())))
            agents.append(
                Agent(
                    agent_id,
                    http,
                    state=state,
                    stats=stats,
                    rng=random.Random(rng.random()),
                    pull=pull,
                    domain=domain,
                    token=tokens[agent_id],
                )
            )
        await asyncio.gather(*(a.run() for a in agents))
