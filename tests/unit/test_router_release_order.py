"""When an agent's assigned task ends or is handed back, the router frees the agent in Redis before it gives the
agent its next task.

Found by the end-to-end test: the engine offered the next waiting task in the same breath, Redis still
counted the old hold and refused (no capacity), and the router's resync re-adopted the finished or
handed-back task into the engine as assigned again. A transferred task then never came back to a queue
(its new classification found it "held"), and a completed one kept a slot of the agent's capacity.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.fake_router_store import MemoryRouter, memory_router
from tests.support.routing import DOMAIN, T0, classified, command, config
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import AgentProfile, Presence


async def assigned_with_one_waiting(h: MemoryRouter) -> None:
    """Agent `a` (capacity 1) works t1; t2 waits for it."""
    h.clock.now = T0
    await h.presence("a", Presence.READY)
    await h.send(classified("t1", at=T0))
    await h.send(classified("t2", at=T0))
    (offer,) = h.events("offered")
    answer = ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offer.offer_id, accept=True)
    await h.send(command(answer))
    h.clock.now = T0 + 5


def one_agent() -> list[AgentProfile]:
    return [AgentProfile("a", {"s": 90}, frozenset({"q", "pull"}), {"workitem": 1})]


async def test_finishing_a_task_gives_the_agent_the_next_one_without_keeping_the_old() -> None:
    async with memory_router(config(agents=one_agent())) as h:
        await assigned_with_one_waiting(h)
        await h.send(command(ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t1", wrap_up_code="processed")))
        assert [o.task_id for o in h.events("offered")] == ["t1", "t2"]
        engine = h.router.domains[DOMAIN].engine
        assert set(engine.tasks) == {"t2"}
        assert engine.agents["a"].tasks == {"t2"}
        assert set(h.store.holds) == {"t2"}


async def test_a_transferred_task_is_queued_again_when_it_comes_back_classified() -> None:
    async with memory_router(config(agents=one_agent())) as h:
        await assigned_with_one_waiting(h)
        transfer = ac.HandBackTask(agent_id="a", domain=DOMAIN, task_id="t1", action="transfer", queue="q")
        await h.send(command(transfer))
        assert [o.task_id for o in h.events("offered")] == ["t1", "t2"]
        assert "t1" not in h.router.domains[DOMAIN].engine.tasks
        await h.send(classified("t1", at=T0 + 6))  # the prioritiser's answer to the reclassification
        assert [q.task_id for q in h.events("queued")] == ["t1", "t2", "t1"]


async def test_a_rescheduled_task_frees_the_agent_for_the_next_one() -> None:
    async with memory_router(config(agents=one_agent())) as h:
        await assigned_with_one_waiting(h)
        wake = datetime.fromtimestamp(T0 + 60, UTC)
        later = ac.HandBackTask(
            agent_id="a", domain=DOMAIN, task_id="t1", action="reschedule", wake_at=wake, reason="call back at 3"
        )
        await h.send(command(later))
        (rescheduled,) = h.events("rescheduled")
        assert (rescheduled.by, rescheduled.agent_id, rescheduled.reason) == ("agent", "a", "call back at 3")
        engine = h.router.domains[DOMAIN].engine
        assert set(engine.tasks) == {"t2"}
        assert engine.agents["a"].tasks == {"t2"}
        assert set(h.store.holds) == {"t2"}
