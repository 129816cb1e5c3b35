"""A supervisor takes held work back or gives it to another agent (issue 20), on the router over real Redis:
the first holder hears it go, the capacity moves in Redis, and a redelivered command changes nothing."""

from __future__ import annotations

from typing import Literal

from tests.support.infra import Infra
from tests.support.routing import DOMAIN, T0, Harness, classified, command, router_on_redis
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import Presence


def supervise(task_id: str, agent_id: str, action: Literal["force_assign", "take_back"]) -> ac.SupervisorAssign:
    return ac.SupervisorAssign(agent_id=agent_id, domain=DOMAIN, task_id=task_id, action=action, supervisor="sam")


async def accepted_by_a(h: Harness, task_id: str) -> None:
    offer = h.events("offered")[-1]
    assert (offer.task_id, offer.agent_id) == (task_id, "a")
    await h.send(
        command(ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id=task_id, offer_id=offer.offer_id, accept=True))
    )


async def test_a_reassignment_moves_an_assigned_task_and_its_capacity(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1", level=60))
        await accepted_by_a(h, "t1")
        await h.ready("b")
        reassign = command(supervise("t1", "b", "force_assign"))
        await h.send(reassign)

        assert [(u.agent_id, u.reason) for u in h.events("unassigned")] == [("a", "reassigned to b by sam")]
        assert [(a.agent_id, a.how, a.by) for a in h.events("accepted")] == [
            ("a", "offer", None),
            ("b", "force", "sam"),
        ]
        holder = await h.store.holder("t1")
        assert holder is not None
        assert (holder.agent_id, holder.kind) == ("b", "assign")
        assert await h.store.load("a") == {}
        assert await h.store.load("b") == {"workitem": 1}

        published = len(h.bus.published)
        await h.send(reassign)  # redelivered: b holds it already
        assert len(h.bus.published) == published


async def test_taking_back_an_offline_agents_task_routes_it_to_another(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1", level=60))
        await accepted_by_a(h, "t1")
        await h.ready("a", Presence.OFFLINE)  # accepted work stays with an agent who logs out
        assert (await h.store.holder("t1")).agent_id == "a"  # type: ignore[union-attr]
        await h.ready("b")
        await h.send(command(supervise("t1", "a", "take_back")))

        assert [(u.agent_id, u.reason) for u in h.events("unassigned")] == [("a", "taken back by sam")]
        assert h.offers() == [("t1", "a"), ("t1", "b")]
        assert (await h.store.holder("t1")).agent_id == "b"  # type: ignore[union-attr]
        entry = await h.store.get_task(DOMAIN, "t1")
        assert entry is not None
        assert entry["enqueued_at"] == T0  # its wait clock kept


async def test_taking_back_an_open_offer_revokes_it(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1", level=60))
        await h.ready("a", Presence.NOT_READY, "lunch")  # the offer stays open
        await h.ready("b")
        take_back = command(supervise("t1", "a", "take_back"))
        await h.send(take_back)

        assert [(r.agent_id, r.reason) for r in h.events("offer_revoked")] == [("a", "taken_back")]
        assert h.events("unassigned") == []
        assert h.offers() == [("t1", "a"), ("t1", "b")]
        published = len(h.bus.published)
        await h.send(take_back)  # redelivered: a no longer holds it
        assert len(h.bus.published) == published


async def test_an_agent_hands_its_task_to_a_named_colleague_s_personal_workbin(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1", level=60))
        await accepted_by_a(h, "t1")
        await h.ready("b")
        hand = ac.HandBackTask(agent_id="a", domain=DOMAIN, task_id="t1", action="transfer", to_agent="b")
        await h.send(command(hand))

        assert [(u.agent_id, u.reason) for u in h.events("unassigned")] == [("a", "transferred to b by a")]
        assert [(p.workbin, p.agent_id, p.by) for p in h.events("parked")] == [("personal:b", "b", "a")]
        assert await h.store.holder("t1") is None  # parked: b claims it from the personal workbin
        assert await h.store.load("a") == {}
        entry = await h.store.get_task(DOMAIN, "t1")
        assert entry is not None
        assert entry["parked_for"] == "b"
        assert h.offers() == [("t1", "a")]  # not offered to anyone else meanwhile
        published = len(h.bus.published)
        await h.send(command(hand))  # redelivered: a no longer holds it
        assert len(h.bus.published) == published
