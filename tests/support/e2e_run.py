"""One end-to-end run: the seven services, two source systems' callback servers, the simulated agents and the
sources' traffic, with progress printed as it goes and every check of the run in `problems()`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from tests.support.callback_server import CallbackServer
from tests.support.e2e_checks import describe, histories, kind, task_of
from tests.support.e2e_config import AGENTS, write_config
from tests.support.e2e_crew import Crew
from tests.support.e2e_feed import Feeder
from tests.support.e2e_http import Http
from tests.support.e2e_outcomes import expected_callbacks
from tests.support.e2e_plan import PlannedTask, Script, sends
from tests.support.e2e_stack import Stack
from tests.support.infra import Infra
from tests.support.router_world import World
from tests.support.wait import every, wait_until, wait_until_async
from workrouter.contracts.envelope import Envelope

SUBSCRIPTIONS = {
    "crm": ["completed", "cancelled", "expired", "escalated"],
    "bpm": ["completed", "cancelled", "expired", "rescheduled"],
}  # ticketing takes no callbacks


@dataclass
class Run:
    """Everything of one run, and what it has seen so far."""

    world: World
    stack: Stack
    servers: dict[str, CallbackServer]
    http: Http
    script: Script
    crew: Crew
    feeder: Feeder
    database_url: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    kinds: Counter[str] = field(default_factory=Counter)
    queued: set[str] = field(default_factory=set)
    ended: dict[str, str] = field(default_factory=dict)
    clock: float = field(default_factory=time.monotonic)
    lag: float = 0.0
    emit: Callable[[str], None] = print  # where progress lines go (the test shows them past pytest's capture)

    def see(self, envelope: Envelope) -> None:
        """The recorder's listener: count kinds, note queued and ended tasks."""
        k, task_id = kind(envelope), task_of(envelope)
        self.kinds[k] += 1
        if task_id is not None and k == "queued":
            self.queued.add(task_id)
        elif task_id is not None and k in ("completed", "cancelled", "expired"):
            self.ended.setdefault(task_id, k)

    @property
    def planned(self) -> list[PlannedTask]:
        """Every task sent so far."""
        return self.feeder.sent_tasks

    def acked(self) -> int:
        """Callbacks acknowledged by the sources so far."""
        return sum(len(s.first_acks) for s in self.servers.values())

    def line(self, label: str) -> str:
        """One progress line."""
        k, did = self.kinds, self.script.did
        todo = sum(1 for t in self.planned if t.task_id not in self.ended)
        return (
            f"[e2e {time.monotonic() - self.clock:6.1f}s {label}] sent {self.feeder.sent} "
            f"captured {k['captured']} offered {k['offered']} accepted {k['accepted']} completed {k['completed']} "
            f"cancelled {k['cancelled']} expired {k['expired']} escalated {k['escalated']} open {todo} | "
            f"callbacks {self.acked()} | rejects {did['rejected']} ignores {did['ignored']} claims {did['claimed']} "
            f"late answers {sum(n for d, n in did.items() if d.startswith('late_answer'))} next {did['got_next']} "
            f"transfers {did['transfer']} reschedules {did['reschedule']} | "
            f"requests {self.http.requests} retries {self.http.retries} "
            f"slowest answer {self.http.slowest:.2f}s, loop lag {self.lag:.2f}s"
        )

    async def progress(self, label: str, stop: asyncio.Event, period: float = 5.0) -> None:
        """Print a progress line every `period` seconds until `stop`, with the test process's worst event-loop
        lag in the period (how late a 0.1 s sleep woke: a busy test process answers offers late too)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        next_line = last + period
        async for _ in every(0.1, stop):
            now = loop.time()
            self.lag, last = max(self.lag, now - last - 0.1), now
            if loop.time() >= next_line:
                self.emit(self.line(label))
                self.lag, self.http.slowest, next_line = 0.0, 0.0, loop.time() + period

    async def drive(
        self, tasks: list[PlannedTask], per_second: float, *, meanwhile: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Send `tasks` at `per_second` (and the sources' later commands), then wait until every task sent has
        ended. With `meanwhile`, sending stops when it returns (not all `tasks` need be sent)."""
        self.script.add(tasks)
        stop, feeding = asyncio.Event(), asyncio.Event()
        printer = asyncio.create_task(self.progress("run", stop))
        try:
            jobs = [
                self.feeder.feed(sends(tasks), per_second, feeding),
                self.feeder.source_commands(self.queued.__contains__),
            ]
            if meanwhile is not None:
                jobs.append(self._then_stop(meanwhile, feeding))
            await asyncio.gather(*jobs)
            await wait_until(self._all_ended, timeout=600, interval=1.0, what="every task to end")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.line('stuck')}\n{self.open_tasks()}") from None
        finally:
            stop.set()
            await printer
        self.emit(self.line("ended"))

    @staticmethod
    async def _then_stop(meanwhile: Callable[[], Awaitable[None]], feeding: asyncio.Event) -> None:
        await meanwhile()
        feeding.set()

    def _all_ended(self) -> bool:
        if dead := self.stack.dead():
            raise AssertionError("a service died:\n" + "\n".join(dead))
        return all(t.task_id in self.ended for t in self.planned)

    def open_tasks(self, limit: int = 15) -> str:
        """The first open tasks with their plan and last events."""
        by_task = histories(list(self.world.events))
        lines = [
            f"  {t.task_id} {t.kind}/{t.plan} via {t.way}: {describe(by_task.get(t.task_id, []))}"
            for t in [t for t in self.planned if t.task_id not in self.ended][:limit]
        ]
        return "open tasks:\n" + "\n".join(lines)

    async def settle(self, timeout: float = 180.0) -> list[str]:
        """Wait until the sources have acknowledged every callback the log calls for and the event log holds
        every event, with nothing new for a second; the event log's ids."""

        def all_called_back() -> bool:
            expected = expected_callbacks(list(self.world.events), SUBSCRIPTIONS)
            return all(key in self.servers[s].first_acks for key, (s, _, _) in expected.items())

        await wait_until(all_called_back, timeout=timeout, interval=1.0, what="every callback acknowledged")
        logged: list[str] = []
        seen = -1
        db = await asyncpg.connect(self.database_url)
        try:

            async def caught_up() -> bool:
                nonlocal logged, seen
                logged = [r["event_id"] for r in await db.fetch("SELECT event_id FROM event_log")]
                now, previous = len(self.world.events), seen
                seen = now
                return now == previous and set(logged) == {e.id for e in self.world.events}

            await wait_until_async(caught_up, timeout=timeout, interval=1.0, what="the event log to hold every event")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {len(logged)} in the log, {len(self.world.events)} recorded") from None
        finally:
            await db.close()
        return logged

    def period(self) -> dict[str, str]:
        """The run's period for the reports."""
        start, end = self.started - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1)
        return {"from": start.isoformat(), "to": end.isoformat(), "interval": "total"}


@asynccontextmanager
async def e2e_run(infra: Infra, folder: Path, emit: Callable[[str], None] = print) -> AsyncIterator[Run]:
    """Start everything (a fresh database, callback servers, config, services, agents); stop it all after."""
    name = f"wr_test_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = infra.database_url.rsplit("/", 1)[0] + f"/{name}"
    servers = {s: CallbackServer(f"{s}-e2e-callback-secret-{uuid.uuid4().hex[:8]}") for s in SUBSCRIPTIONS}
    callbacks = {s: (srv.url, srv.secret, SUBSCRIPTIONS[s]) for s, srv in servers.items()}
    world = World(infra, write_config(folder / "config", callbacks), folder)
    stack = Stack(world, database_url)
    http = Http(stack.url("api"))
    script = Script()
    crew = Crew(AGENTS, http, script)
    run = Run(world, stack, servers, http, script, crew, Feeder(world, http), database_url, emit=emit)
    world.listener = run.see
    run.emit(f"e2e logs and config: {folder}")
    try:
        for server in servers.values():
            server.start()
        await world.open()
        await stack.start_all()
        crew.start()
        yield run
    finally:
        await crew.close()
        await http.close()
        await world.close()
        for server in servers.values():
            server.release()
            server.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
