"""Every check of an end-to-end run, over everything recorded so far: the invariants, the callbacks, the
script's marks, the event log, and the reporting service's reports against figures worked out from the events."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import e2e_figures as fig
from tests.support.e2e_checks import (
    capacity_breaches,
    dangling_holds,
    overlapping_holds,
    terminal_problems,
    tier_violations,
)
from tests.support.e2e_config import AGENTS, CAPACITY, SKILLS, TIERS
from tests.support.e2e_outcomes import callback_problems, log_differences, plan_problems
from tests.support.e2e_run import SUBSCRIPTIONS, Run

TASK_FIGURES = ("opened", "completed", "cancelled", "expired", "escalated")


async def report(run: Run, name: str, **params: str) -> list[dict[str, Any]]:
    """A report's rows over the run's period, from the reporting service over HTTP."""
    boss = next(a for a in AGENTS if a.role == "supervisor")  # the reports require a supervisor's token
    async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {boss.token}"}) as http:
        response = await http.get(f"{run.stack.url('reporting')}/v1/reports/{name}", params={**run.period(), **params})
    assert response.status_code == 200, f"{name}: {response.status_code} {response.text[:500]}"
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


async def report_problems(run: Run) -> tuple[list[str], dict[str, fig.Figures]]:
    """Where the tasks, wrap-up and queue-summary reports disagree with the events; and the reported figures."""
    events = list(run.world.events)
    tasks = fig.rows_by(await report(run, "tasks"), "type", TASK_FIGURES)
    codes = fig.rows_by(await report(run, "wrap-up", group="code"), "code", ("tasks",))
    queues = fig.rows_by(await report(run, "queue-summary", group="queue"), "queue", fig.QUEUE_FIGURES)
    problems = fig.differences("tasks", fig.task_figures(events), tasks)
    problems += fig.differences("wrap-up", fig.wrap_up_figures(events), codes)
    problems += fig.differences("queue-summary", fig.queue_figures(events), queues)
    return problems, {"tasks": tasks, "wrap-up": codes, "queue-summary": queues}


async def problems(run: Run, logged: list[str]) -> tuple[dict[str, list[str]], dict[str, fig.Figures]]:
    """Each check's problems (empty lists when all is well) and the reported figures."""
    events = list(run.world.events)
    expected = {t.task_id: t.terminal for t in run.planned}
    intents = {t.task_id: (t.kind, t.plan) for t in run.planned}
    acked = {source: dict(server.first_acks) for source, server in run.servers.items()}
    reports, figures = await report_problems(run)
    found = {
        "every task ended as intended": terminal_problems(events, expected),
        "no task held by two agents at once": overlapping_holds(events),
        "no agent over its capacity": capacity_breaches(events, CAPACITY),
        "every hold released by an event": dangling_holds(events),
        "offers only within the task's tier": tier_violations(events, TIERS, SKILLS),
        "each callback acknowledged once, none unexpected": callback_problems(events, SUBSCRIPTIONS, acked),
        "callback signatures valid": [p for s in run.servers.values() for p in s.bad_signatures],
        "every plan left its marks": plan_problems(events, intents),
        "the event log holds exactly the topics' events": log_differences({e.id for e in events}, logged),
        "the reports agree with the events": reports,
        "the simulated agents did what they meant to": run.crew.failures(),
        "every service still running": run.stack.dead(),
    }
    return found, figures


def summary(found: dict[str, list[str]], limit: int = 12) -> str:
    """The failed checks with their first problems."""
    lines = []
    for check, items in found.items():
        if items:
            lines.append(f"{check}: {len(items)} problems")
            lines += [f"    {item}" for item in items[:limit]]
    return "\n".join(lines)
