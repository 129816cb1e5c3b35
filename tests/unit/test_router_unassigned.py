"""When a task an agent has assigned is withdrawn from elsewhere, the router says so in a TaskUnassigned.

A source's cancel (or an expiry, a completion by the source, a pause, a move to another domain) can cross
an agent's claim or acceptance on `wr.tasks`: the end-to-end test saw `cancelled` before `accepted` in a
task's history, and nothing after, so the log (and agent-stats) had the agent hold the task for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.router_domain import Domain
from tests.support.routing import DOMAIN, T0, classified, command
from workrouter.contracts import agent_commands as ac
from workrouter.contracts import task_events as te
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Envelope, Payload, make_event


def withdrawal(payload: Payload) -> Envelope:
    """A withdrawal as the prioritiser forwards it on wr.routing, keyed by the domain."""
    return make_event(payload, source="/workrouter/capture", key=DOMAIN, subject="t1")


WITHDRAWALS = {
    "cancelled": te.TaskCancelled(task_id="t1", by="source", reason="customer withdrew"),
    "completed": te.TaskCompleted(task_id="t1", by="source"),
    "expired": te.TaskExpired(task_id="t1", expired_at=datetime.fromtimestamp(T0 + 60, UTC)),
    "paused": te.TaskPaused(task_id="t1", by="source", reason="waiting for documents"),
    "rescheduled": te.TaskRescheduled(task_id="t1", wake_at=datetime.fromtimestamp(T0 + 600, UTC), by="source"),
}


async def assigned() -> tuple[Domain, str]:
    """A domain whose task t1 an agent has accepted; that agent."""
    domain = Domain()
    await domain.start()
    await domain.send(classified("t1", at=T0))
    return domain, await domain.accept("t1")


@pytest.mark.parametrize("kind", sorted(WITHDRAWALS))
async def test_an_assigned_task_withdrawn_is_unassigned_once(kind: str) -> None:
    domain, agent = await assigned()
    message = withdrawal(WITHDRAWALS[kind])

    await domain.send(message)
    await domain.send(message)  # redelivered: the task is gone, nothing more

    (gone,) = domain.events("unassigned")
    assert isinstance(gone.data, te.TaskUnassigned)
    assert (gone.data.agent_id, gone.data.reason) == (agent, kind)
    assert "t1" not in domain.store.holds
    assert domain.events("offer_revoked") == []


async def test_an_offered_task_withdrawn_is_revoked_not_unassigned() -> None:
    domain = Domain()
    await domain.start()
    await domain.send(classified("t1", at=T0))
    await domain.send(withdrawal(WITHDRAWALS["cancelled"]))
    assert [e.data.reason for e in domain.events("offer_revoked")] == ["cancelled"]  # type: ignore[attr-defined]
    assert domain.events("unassigned") == []


async def test_the_agents_own_hand_back_is_not_an_unassignment() -> None:
    domain, agent = await assigned()
    back = ac.HandBackTask(agent_id=agent, domain=DOMAIN, task_id="t1", action="transfer", queue="r")
    await domain.send(command(back))
    [again] = domain.events("reclassify_task")
    assert isinstance(again.data, ReclassifyTask)
    assert again.data.by == agent  # who asked, in the event log
    assert domain.events("unassigned") == []


async def test_a_task_moved_to_another_domain_is_unassigned() -> None:
    domain, agent = await assigned()
    into_q = classified("t1", at=T0 + 5)
    assert isinstance(into_q.data, te.TaskClassified)
    moved = into_q.model_copy(update={"data": into_q.data.model_copy(update={"domain": "elsewhere"})})
    await domain.send(moved)
    assert [(e.data.agent_id, e.data.reason) for e in domain.events("unassigned")] == [  # type: ignore[attr-defined]
        (agent, "moved to domain elsewhere")
    ]
