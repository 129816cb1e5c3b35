"""End to end over real Kafka, Redis and PostgreSQL: all seven services as OS processes, two source systems
with signed callbacks to real HTTP servers, and 35 simulated agents using the HTTP API only.

Phase 1 drives 2,000 tasks through capture (REST single and bulk, `wr.capture` single and batch),
classification by the rules, routing with widening tiers, RONAs (offers rejected or left to time
out), auto-answer, workbin claims and get-next on pull queues, transfers, reschedules woken by
escalation, SLA escalations (moved to the supervisor queue, parked in a supervisor's workbin),
expiry, cancels and completions by the source, and completion with wrap-up codes. Phase 2 keeps
sending (until 3,500 tasks in all) while each service in turn is killed with SIGKILL and restarted.
After each phase every check of tests/support/e2e_verify.py must hold over everything so far: each
task ended as intended, never held by two agents, no agent over capacity, offers only within the
task's tier, each callback acknowledged once, the event log complete, the reports equal to figures
worked out from the events. Both phases take about 7-8 minutes on a 2-core machine (docs/e2e.md).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support.e2e_plan import plan_tasks
from tests.support.e2e_run import Run, e2e_run
from tests.support.e2e_stack import SERVICES
from tests.support.e2e_verify import problems, summary
from tests.support.infra import Infra
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900), pytest.mark.asyncio(loop_scope="module")]
PHASE_1, RATE_1 = 2000, 14.0  # tasks, tasks sent per second (about what the seven services drain on 2 cores)
AT_LEAST, RATE_2 = 3500, 12.0  # phase 2 sends until every service was killed and 3,500 tasks were sent in all
FLOWING = 40  # completions between two kills: the restarted service works again before the next one dies


def shown(config: pytest.Config) -> Callable[[str], None]:
    """Print a line even while pytest captures output, so a person watching CI sees the run move."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def emit(line: str) -> None:
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            print(line, flush=True)

    return emit


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> AsyncIterator[Run]:
    folder: Path = tmp_path_factory.mktemp("e2e")
    async with e2e_run(infra, folder, shown(pytestconfig)) as started:
        yield started


async def check(run: Run, phase: str, since: float) -> None:
    """Settle, run every check over everything so far, print the figures, fail with what is wrong."""
    logged = await run.settle()
    found, figures = await problems(run, logged)
    run.emit(f"{phase}: {len(run.planned)} tasks so far, {len(run.world.events)} events, {run.acked()} callbacks "
             f"acknowledged ({sum(s.duplicates.total() for s in run.servers.values())} re-sent after an ack); "
             f"{time.monotonic() - since:.1f} s; agents did {dict(sorted(run.script.did.items()))}")  # fmt: skip
    for name, rows in figures.items():
        run.emit(f"  {name}: {rows}")
    assert not any(found.values()), f"{phase}:\n{summary(found)}"


async def test_tasks_flow_through_all_seven_services(run: Run) -> None:
    since = time.monotonic()
    await run.drive(plan_tasks(PHASE_1, seed=1, prefix="P1"), RATE_1)
    await check(run, "phase 1", since)


async def test_every_check_holds_across_a_kill_9_of_each_service(run: Run) -> None:
    since = time.monotonic()

    async def kill_each_in_turn() -> None:
        for service in SERVICES:
            target = run.kinds["completed"] + FLOWING

            def flowing(target: int = target) -> bool:
                return run.kinds["completed"] >= target

            await wait_until(flowing, timeout=240, interval=0.5, what=f"tasks completing before killing {service}")
            in_flight = run.feeder.sent - sum(1 for t in run.planned if t.task_id in run.ended)
            back = await run.stack.kill_and_restart(service)
            run.emit(f"[e2e {time.monotonic() - run.clock:6.1f}s] kill -9 {service} with {in_flight} tasks open; "
                     f"answering again after {back:.1f} s")  # fmt: skip
        await wait_until(lambda: run.feeder.sent >= AT_LEAST, timeout=600, interval=0.5, what=f"{AT_LEAST} tasks sent")

    await run.drive(plan_tasks(AT_LEAST, seed=2, prefix="P2"), RATE_2, meanwhile=kill_each_in_turn)
    assert [k[0] for k in run.stack.kills] == list(SERVICES)
    await check(run, "phase 2 (after a kill -9 of each service)", since)
