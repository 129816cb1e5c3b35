"""Blended agents (decisions D21): one agent serves queues of two routing domains, each owned by its own
router; they share the agent's capacity through the store and tell each other of changes (SyncAgent)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.blended import EMAIL, VOICE, Blended, blended_config, blended_routers, classified
from tests.support.fake_router_store import FakeRouterStore
from workrouter.adapters.redis_agent_records import ReserveResult
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import Presence
from workrouter.services.router import carry_out


async def test_a_task_held_in_one_domain_fills_the_agent_in_the_other_and_its_end_frees_it() -> None:
    async with blended_routers(FakeRouterStore()) as b:
        await b.presence("x", Presence.READY)
        await b.send(classified("v1", VOICE))
        assert b.offers(VOICE) == [("v1", "x")]
        assert [s.domain for s in b.syncs_pending()] == [EMAIL]  # voice's router tells email's
        await b.pump()
        assert b.engine_load(EMAIL, "x") == 1  # counted as a foreign hold: email proposes x nothing

        await b.send(classified("e1", EMAIL))
        assert b.offers(EMAIL) == []  # x is full (capacity 1), `e` is offline
        offer = b.events("offered", VOICE)[0]
        await b.command(ac.AnswerOffer(agent_id="x", domain=VOICE, task_id="v1", offer_id=offer.offer_id, accept=True))
        await b.command(ac.FinishTask(agent_id="x", domain=VOICE, task_id="v1", wrap_up_code="processed"))
        assert b.offers(EMAIL) == []  # email's router has not heard yet
        await b.pump()
        assert b.offers(EMAIL) == [("e1", "x")]  # freed in voice, given email's waiting task at once
        assert await b.store.load("x") == {"workitem": 1}


async def test_rona_in_one_domain_makes_the_agent_not_ready_in_the_other() -> None:
    async with blended_routers(FakeRouterStore()) as b:
        await b.presence("x", Presence.READY)
        await b.send(classified("v1", VOICE))
        await b.pump()
        await b.at(30.0)  # voice's offer times out: RONA, x not ready
        assert [r.reason for r in b.events("offer_revoked", VOICE)] == ["rona"]
        await b.pump()
        assert b.engine_presence(EMAIL, "x") is Presence.NOT_READY
        assert b.engine_load(EMAIL, "x") == 0  # the hold was released with the revoke
        await b.send(classified("e1", EMAIL))
        assert b.offers(EMAIL) == []


async def test_a_reservation_the_other_domain_made_impossible_is_followed_and_the_task_offered_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(carry_out, "MAX_REFUSALS", 1)  # one refusal would set a one-domain agent out_of_sync
    async with blended_routers(FakeRouterStore()) as b:
        await b.presence("x", Presence.READY)
        b.clock.now += 1.0  # e became ready after x: x has been idle longest
        await b.presence("e", Presence.READY)
        await b.send(classified("v1", VOICE))  # x is full; email's router does not know yet (no pump)
        await b.send(classified("e1", EMAIL))
        assert b.offers(EMAIL) == [("e1", "e")]  # x (idle longest) refused by the store, then e
        assert b.engine_load(EMAIL, "x") == 1  # email's engine read x again: voice's hold counted
        assert b.engine_presence(EMAIL, "x") is Presence.READY  # not out_of_sync: voice caused the refusal
        presence = await b.store.get_presence("x")
        assert (presence.presence, presence.reason) == (Presence.READY, None)


async def test_an_api_claim_in_one_domain_is_counted_in_the_other() -> None:
    async with blended_routers(FakeRouterStore()) as b:
        await b.presence("x", Presence.READY)
        await b.send(classified("p1", EMAIL, queue="pe"))
        assert await b.store.reserve("x", "p1", "workitem", "assign", b.clock()) is ReserveResult.OK  # the api's claim
        await b.command(ac.TaskClaimed(agent_id="x", domain=EMAIL, task_id="p1", how="pull"))
        assert b.engine_load(VOICE, "x") == 0
        await b.pump()
        assert b.engine_load(VOICE, "x") == 1
        await b.send(classified("v1", VOICE))
        assert b.offers(VOICE) == []  # x is full with email's task; v is offline


# ------------------------------------------------------------------ property: the engines follow the store

Step = tuple[str, Any]
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("new"), st.sampled_from([VOICE, EMAIL])),
        st.tuples(st.just("accept"), st.integers(0, 3)),
        st.tuples(st.just("reject"), st.integers(0, 3)),
        st.tuples(st.just("finish"), st.integers(0, 3)),
        st.tuples(st.just("ready"), st.sampled_from(["x", "v", "e"])),
        st.tuples(st.just("pump"), st.none()),
    ),
    max_size=25,
)


async def _step(b: Blended, step: Step, counter: list[int]) -> None:
    kind, arg = step
    store = b.store
    if kind == "new":
        counter[0] += 1
        await b.send(classified(f"t{counter[0]}", arg))
    elif kind == "ready":
        await b.presence(arg, Presence.READY)
    elif kind == "pump":
        await b.pump()
    else:
        holds = sorted((t, h) for t, h in store.holds.items() if h.kind == ("assign" if kind == "finish" else "offer"))
        if not holds:
            return
        task_id, holder = holds[arg % len(holds)]
        domain = VOICE if await store.get_task(VOICE, task_id) is not None else EMAIL
        if kind == "finish":
            await b.command(ac.FinishTask(agent_id=holder.agent_id, domain=domain, task_id=task_id))
            return
        offer = [o for o in b.events("offered", domain) if o.task_id == task_id][-1]
        answer = ac.AnswerOffer(
            agent_id=holder.agent_id, domain=domain, task_id=task_id, offer_id=offer.offer_id, accept=kind == "accept"
        )
        await b.command(answer)


async def _check_settled(b: Blended) -> None:
    """With every SyncAgent delivered: each engine counts exactly what the store holds for each agent, and
    no task waits in a domain while one of its agents is ready with room."""
    store = b.store
    for domain, router in b.routers.items():
        engine = router.domains[domain].engine
        for agent_id, agent in engine.agents.items():
            assert agent.tasks == await store.held(agent_id), (domain, agent_id)
            assert agent.presence is (await store.get_presence(agent_id)).presence, (domain, agent_id)
        waiting = [t for t in engine.tasks.values() if t.state == "waiting"]
        if not waiting:
            continue
        for agent_id in engine.agents:
            presence = (await store.get_presence(agent_id)).presence
            load = sum((await store.load(agent_id)).values())
            capacity = b.config.agents[agent_id].capacity["workitem"]
            assert presence is not Presence.READY or load >= capacity, (domain, agent_id, waiting[0].task_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, capacity=st.integers(1, 2))
def test_after_the_syncs_each_domain_sees_the_blended_agent_as_the_store_has_it(
    steps: list[Step], capacity: int
) -> None:
    async def run() -> None:
        async with blended_routers(FakeRouterStore(), blended_config(capacity=capacity)) as b:
            for agent_id in ("x", "v", "e"):
                await b.presence(agent_id, Presence.READY)
            counter = [0]
            for step in steps:
                await _step(b, step, counter)
                for agent_id in ("x", "v", "e"):  # never over capacity, whatever arrived when
                    load = sum((await b.store.load(agent_id)).values())
                    assert load <= b.config.agents[agent_id].capacity["workitem"]
            await b.pump()
            await _check_settled(b)

    asyncio.run(run())
