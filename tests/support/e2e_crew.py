"""All the simulated agents of a run (tests/support/e2e_agents.py), started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib

from tests.support.e2e_agents import SimAgent
from tests.support.e2e_config import AgentSpec
from tests.support.e2e_http import Http
from tests.support.e2e_plan import Script


class Crew:
    """All simulated agents, running until stopped."""

    def __init__(self, specs: list[AgentSpec], http: Http, script: Script) -> None:
        self.agents = [SimAgent(spec, http, script, seed=i) for i, spec in enumerate(specs)]
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Every agent logs in and starts working."""
        self.tasks = [asyncio.create_task(a.run(self.stop), name=f"agent-{a.spec.id}") for a in self.agents]

    async def close(self) -> None:
        """Stop every agent (its stream and loops)."""
        self.stop.set()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def failures(self) -> list[str]:
        """Agents whose loops died, and what any agent could not do."""
        died = [f"{t.get_name()}: {t.exception()!r}" for t in self.tasks if t.done() and not t.cancelled()
                and t.exception() is not None]  # fmt: skip
        return died + self.agents[0].script.problems if self.agents else died
