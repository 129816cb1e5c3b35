"""The router drops a held task and releases its agent (a poison hold, D13, or a rule hold after a reclassification)."""

from __future__ import annotations

import pytest

from tests.support.router_domain import Domain
from tests.support.routing import DOMAIN, T0, classified, command
from workrouter.contracts import agent_commands as ac
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event


def held(task_id: str) -> Envelope:
    """A poison hold as the prioritiser forwards it on wr.routing, keyed by the domain."""
    hold = te.TaskErrorHeld(
        task_id=task_id,
        reason="wr-notifier could not process workrouter.task.accepted from wr.tasks: boom",
        ruleset_version="v",
        service="wr-notifier",
        dead_letter_id="dl:wr-notifier:wr.tasks:3:17",
    )
    return make_event(hold, source="/workrouter/prioritiser", key=DOMAIN, subject=task_id, event_id=f"held-{task_id}")


async def two_offered_one_waiting() -> tuple[Domain, str]:
    """t1 and t2 offered to the two agents (capacity 1 each), t3 waiting; t1's agent."""
    domain = Domain()
    await domain.start()
    domain.clock.now = T0 + 10
    for n in (1, 2, 3):
        await domain.send(classified(f"t{n}", at=T0 + n))
    assert [task for task, _ in offers(domain)] == ["t1", "t2"]
    return domain, offers(domain)[0][1]


def offers(domain: Domain) -> list[tuple[str, str]]:
    return [(e.data.task_id, e.data.agent_id) for e in domain.events("offered")]  # type: ignore[attr-defined]


@pytest.mark.parametrize("step", ["offered", "assigned"])
async def test_a_held_task_leaves_routing_and_its_agent_takes_the_next_task(step: str) -> None:
    domain, agent = await two_offered_one_waiting()
    if step == "assigned":
        (offer,) = [e.data for e in domain.events("offered") if e.data.task_id == "t1"]  # type: ignore[attr-defined]
        assert isinstance(offer, te.TaskOffered)
        answer = ac.AnswerOffer(agent_id=agent, domain=DOMAIN, task_id="t1", offer_id=offer.offer_id, accept=True)
        await domain.send(command(answer))

    await domain.send(held("t1"))
    await domain.send(held("t1"))  # redelivered: nothing more

    assert "t1" not in domain.router.domains[DOMAIN].engine.tasks
    assert "t1" not in domain.store.holds
    revoked = [(e.data.task_id, e.data.reason) for e in domain.events("offer_revoked")]  # type: ignore[attr-defined]
    unassigned = [(e.data.task_id, e.data.reason) for e in domain.events("unassigned")]  # type: ignore[attr-defined]
    if step == "assigned":
        assert (unassigned, revoked) == ([("t1", "error_held")], [])
    else:
        assert (unassigned, revoked) == ([], [("t1", "cancelled")])
    assert offers(domain)[-1] == ("t3", agent)  # the capacity is not leaked: the agent gets the next task


async def test_a_held_waiting_task_leaves_its_queue() -> None:
    domain, _ = await two_offered_one_waiting()
    await domain.send(held("t3"))
    assert "t3" not in domain.router.domains[DOMAIN].engine.tasks
    await domain.send(held("t1"))  # the agent is free again, and nothing waits for it
    assert [task for task, _ in offers(domain)] == ["t1", "t2"]


async def test_a_hold_of_a_task_the_router_does_not_have_is_ignored() -> None:
    domain = Domain()
    await domain.start()
    before = list(domain.bus.published)
    await domain.send(held("t9"))
    assert domain.bus.published == before
