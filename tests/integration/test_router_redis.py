"""The router service on real Redis, message by message, with a hand-set clock."""

from __future__ import annotations

import pytest

from tests.support.infra import Infra
from tests.support.routing import DOMAIN, T0, classified, command, config, router_on_redis
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import make_event
from workrouter.contracts.task_events import TaskCancelled
from workrouter.domain.routing.model import AgentProfile, Presence
from workrouter.services.router.router import RouterOptions


async def test_offer_accept_finish_releases_capacity(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1", level=60))
        assert h.offers() == [("t1", "a")]
        offered = h.events("offered")[0]
        assert (offered.tier, offered.strategy, offered.url) == (0, "longest_idle", "https://crm/t1")
        holder = await h.store.holder("t1")
        assert holder is not None
        assert (holder.agent_id, holder.kind) == ("a", "offer")
        assert [e.queue for e in h.events("queued")] == ["q"]

        await h.send(
            command(ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offered.offer_id, accept=True))
        )
        assert (await h.store.holder("t1")).kind == "assign"  # type: ignore[union-attr]
        assert [a.how for a in h.events("accepted")] == ["offer"]

        await h.send(command(ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t1", wrap_up_code="processed")))
        assert await h.store.holder("t1") is None
        assert await h.store.load("a") == {}
        assert await h.store.get_task(DOMAIN, "t1") is None
        done = h.events("completed")
        assert [(d.agent_id, d.wrap_up_code) for d in done] == [("a", "processed")]


async def test_offer_timeout_is_rona_and_the_task_goes_to_the_next_agent(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.ready("b")
        await h.send(classified("t1", level=60))
        assert h.offers() == [("t1", "a")]  # a has been idle longest (ready first)
        await h.at(29.9)
        assert h.offers() == [("t1", "a")]
        await h.at(30.0)
        assert h.offers() == [("t1", "a"), ("t1", "b")]
        assert [r.reason for r in h.events("offer_revoked")] == ["rona"]
        presence = await h.store.get_presence("a")
        assert (presence.presence, presence.reason) == (Presence.NOT_READY, "rona")
        assert [(p.agent_id, p.reason) for p in h.events("presence_changed")][-1] == ("a", "rona")
        entry = await h.store.get_task(DOMAIN, "t1")
        assert entry is not None
        assert entry["enqueued_at"] == T0


async def test_reject_is_rona(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.ready("b")
        await h.send(classified("t1", level=60))
        offer = h.events("offered")[0]
        await h.send(
            command(ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offer.offer_id, accept=False))
        )
        assert h.offers() == [("t1", "a"), ("t1", "b")]
        assert [r.reason for r in h.events("offer_revoked")] == ["rejected"]
        assert (await h.store.get_presence("a")).reason == "rona"


async def test_an_api_claim_that_wins_the_race_is_followed_not_doubled(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.send(classified("t1"))  # nobody is ready: it waits
        # b's claim through the api reserves it in Redis; the router has not heard of the claim yet...
        assert (await h.store.reserve("b", "t1", "workitem", "assign", T0, require_ready=False)).ok
        # ... when a becomes ready, the router's offer to a finds the task taken, and follows Redis
        await h.ready("a")
        assert h.offers() == []
        assert h.state.engine.tasks["t1"].agent_id == "b"
        assert await h.store.load("a") == {}
        await h.send(command(ac.TaskClaimed(agent_id="b", domain=DOMAIN, task_id="t1", how="pull")))
        assert [(a.agent_id, a.how) for a in h.events("accepted")] == [("b", "pull")]
        assert await h.store.load("b") == {"workitem": 1}


async def test_cancel_withdraws_an_offer_and_frees_the_agent(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1"))
        await h.send(make_event(TaskCancelled(task_id="t1", by="source", reason="gone"), source="/t", key=DOMAIN))
        assert [r.reason for r in h.events("offer_revoked")] == ["cancelled"]
        assert await h.store.holder("t1") is None
        assert await h.store.load("a") == {}
        assert await h.store.get_task(DOMAIN, "t1") is None


async def test_stale_heartbeat_sets_offline_and_reroutes(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url, options=RouterOptions(heartbeat_timeout_seconds=10)) as h:
        await h.ready("a")
        await h.send(classified("t1"))
        h.clock.now = T0 + 10
        await h.ready("b")
        h.clock.now = T0 + 15  # a's last heartbeat (T0) is 15 s old, b's 5 s; the offer times out at 30 s
        assert await h.router.sweep_once() == ["a"]
        assert (await h.store.get_presence("a")).presence is Presence.OFFLINE
        assert [r.reason for r in h.events("offer_revoked")] == ["agent_offline"]
        assert h.offers() == [("t1", "a"), ("t1", "b")]


async def test_force_assign_and_park(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("c", Presence.NOT_READY, "lunch")  # c is below every tier for level 60, and at lunch
        await h.send(classified("t1", level=60))
        await h.send(classified("t2", level=60))
        await h.send(
            command(
                ac.SupervisorAssign(agent_id="c", domain=DOMAIN, task_id="t1", action="force_assign", supervisor="sam")
            )
        )
        accepted = h.events("accepted")
        assert [(a.agent_id, a.how, a.tier, a.by) for a in accepted] == [("c", "force", -2, "sam")]
        assert (await h.store.holder("t1")).kind == "assign"  # type: ignore[union-attr]
        await h.send(
            command(ac.SupervisorAssign(agent_id="b", domain=DOMAIN, task_id="t2", action="park", supervisor="sam"))
        )
        assert [(p.workbin, p.by) for p in h.events("parked")] == [("personal:b", "sam")]
        assert (await h.store.get_task(DOMAIN, "t2"))["parked_for"] == "b"  # type: ignore[index]


async def test_transfer_sends_the_task_to_the_rules_with_the_queue(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1"))
        offer = h.events("offered")[0]
        await h.send(
            command(ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offer.offer_id, accept=True))
        )
        await h.send(
            command(ac.HandBackTask(agent_id="a", domain=DOMAIN, task_id="t1", action="transfer", queue="pull"))
        )
        again = h.events("reclassify_task")
        assert [(r.task_id, r.queue) for r in again] == [("t1", "pull")]
        assert await h.store.holder("t1") is None
        assert await h.store.load("a") == {}


async def test_a_second_owner_rebuilds_the_same_state(infra: Infra) -> None:
    prefix = None
    async with router_on_redis(infra.redis_url) as first:
        prefix = first.store._prefix
        for agent in ("a", "b"):
            await first.ready(agent)
        for i in range(8):
            await first.send(classified(f"t{i}", priority=100 + i, at=T0 + i))
        before = {t: (w.state, w.agent_id) for t, w in first.state.engine.tasks.items()}
        offered_before = {d.offer_id for d in first.events("offered")}
        async with router_on_redis(infra.redis_url, prefix=prefix, clock=first.clock) as second:
            after = {t: (w.state, w.agent_id) for t, w in second.state.engine.tasks.items()}
            assert after == before
            again = {d.offer_id for d in second.events("offered")}
            assert again == offered_before  # re-announced under the same ids, none new
            await second.at(30.0)  # the offers the first owner made time out on the second
            assert {r.reason for r in second.events("offer_revoked")} == {"rona"}


pytestmark = pytest.mark.timeout(60)


async def test_a_claim_that_raced_a_cancel_gives_the_capacity_back(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.send(classified("t1"))
        assert (await h.store.reserve("b", "t1", "workitem", "assign", T0, require_ready=False)).ok
        await h.send(make_event(TaskCancelled(task_id="t1", by="source", reason="gone"), source="/t", key=DOMAIN))
        await h.send(command(ac.TaskClaimed(agent_id="b", domain=DOMAIN, task_id="t1", how="pull")))
        assert await h.store.holder("t1") is None
        assert await h.store.load("b") == {}
        assert h.events("accepted") == []


async def test_a_task_classified_into_another_domain_leaves_this_one(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("a")
        await h.send(classified("t1"))
        moved = classified("t1").data.model_copy(update={"domain": "elsewhere", "queue": "other"})
        await h.send(make_event(moved, source="/t", key=DOMAIN))
        assert [r.reason for r in h.events("offer_revoked")] == ["cancelled"]
        assert await h.store.holder("t1") is None
        assert await h.store.get_task(DOMAIN, "t1") is None
        assert "t1" not in h.state.engine.tasks


async def test_an_auto_answer_agent_is_assigned_directly(infra: Infra) -> None:
    auto = AgentProfile("a", {"s": 90}, frozenset({"q"}), {"workitem": 1}, auto_answer=True)
    async with router_on_redis(infra.redis_url, config(agents=[auto])) as h:
        await h.ready("a")
        await h.send(classified("t1"))
        assert h.offers() == []
        assert [(a.agent_id, a.how, a.tier, a.strategy) for a in h.events("accepted")] == [
            ("a", "auto_answer", 0, "longest_idle")
        ]
        assert (await h.store.holder("t1")).kind == "assign"  # type: ignore[union-attr]


async def test_a_get_next_claim_not_started_in_time_goes_back_to_the_queue(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url) as h:
        await h.ready("b")
        await h.send(classified("p1", queue="pull"))
        # what POST /v1/agent/next does: a claim in Redis, then the command
        assert (await h.store.reserve("b", "p1", "workitem", "claim", T0)).ok
        await h.send(command(ac.TaskClaimed(agent_id="b", domain=DOMAIN, task_id="p1", how="get_next")))
        (claim,) = h.events("offered")
        assert (claim.agent_id, claim.how) == ("b", "get_next")
        await h.at(299.0)
        assert h.events("offer_revoked") == []
        await h.at(300.0)  # the queue's claim timeout
        assert [(r.agent_id, r.reason) for r in h.events("offer_revoked")] == [("b", "claim_timeout")]
        assert await h.store.holder("p1") is None
        assert h.state.engine.tasks["p1"].state == "waiting"
        assert (await h.store.get_presence("b")).presence is Presence.READY  # a claim timeout is no RONA
