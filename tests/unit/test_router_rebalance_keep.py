"""A router keeps its domains through an eager rebalance (every partition revoked, then the new set assigned):
a domain assigned back is resumed as it was, unless another router took it over meanwhile or a unit of work
on it failed part-way; then it is rebuilt from the store, as before."""

from __future__ import annotations

from tests.support.fake_router_store import MemoryRouter, memory_router
from tests.support.routing import DOMAIN, T0, classified, command
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import Presence


def every(h: MemoryRouter) -> set[int]:
    return set(range(h.router.options.partitions))


async def test_a_domain_assigned_back_is_resumed_as_it_was_and_its_timers_run_on() -> None:
    async with memory_router() as h:
        await h.presence("a", Presence.READY)
        await h.send(classified("t1", "q", at=T0))
        before = h.router.domains[DOMAIN]
        assert [o.agent_id for o in h.events("offered")] == ["a"]
        await h.presence("b", Presence.READY)

        await h.router.on_revoke(every(h))
        assert DOMAIN not in h.router.domains
        await h.router.on_assign(every(h))

        assert h.router.domains[DOMAIN] is before, "the same state, not a rebuilt one"
        assert (len(h.router.rebuilt), h.router.resumed) == (1, [DOMAIN])
        await h.at(31, T0)  # the offer made before the rebalance still times out: RONA, offered to b
        assert [r.reason for r in h.events("offer_revoked")] == ["rona"]
        assert [o.agent_id for o in h.events("offered")] == ["a", "b"]


async def test_a_domain_another_router_took_over_meanwhile_is_rebuilt() -> None:
    async with memory_router() as h:
        await h.send(classified("t1", "q", at=T0))
        before = h.router.domains[DOMAIN]
        await h.router.on_revoke(every(h))
        await h.store.take_over(DOMAIN)  # another router's rebuild, in a generation this one missed
        await h.router.on_assign(every(h))
        assert h.router.domains[DOMAIN] is not before
        assert (len(h.router.rebuilt), h.router.resumed) == (2, [])
        assert list(h.router.domains[DOMAIN].engine.tasks) == ["t1"]


async def test_a_domain_set_aside_is_forgotten_when_the_next_assignment_leaves_it_out() -> None:
    async with memory_router() as h:
        await h.send(classified("t1", "q", at=T0))
        partition = h.router.domain_partition(DOMAIN)
        await h.router.on_revoke(every(h))
        await h.router.on_assign(every(h) - {partition})  # it went to another router...
        await h.router.on_revoke(every(h) - {partition})
        await h.router.on_assign(every(h))  # ...and came back: whatever that router did, rebuild
        assert (len(h.router.rebuilt), h.router.resumed) == (2, [])


async def test_a_domain_whose_last_unit_failed_part_way_is_rebuilt_not_resumed() -> None:
    async with memory_router() as h:
        await h.send(classified("t1", "q", at=T0))
        h.router.domains[DOMAIN].store.failed = True
        await h.router.on_revoke(every(h))
        await h.router.on_assign(every(h))
        assert (len(h.router.rebuilt), h.router.resumed) == (2, [])
        assert not h.router.domains[DOMAIN].store.failed


async def test_after_a_takeover_the_longest_idle_agent_is_still_the_one_idle_longest() -> None:
    """Idle clocks are kept in the store (given_at on a reservation, freed_at when a task ends): a router that
    takes over does not start every agent's idle clock afresh, which would hand the next task by agent id."""
    async with memory_router() as h:
        await h.presence("a", Presence.READY)  # idle since T0
        h.clock.now = T0 + 1
        await h.presence("b", Presence.READY)  # idle since T0 + 1
        h.clock.now = T0 + 2
        await h.send(classified("t1", "q", at=T0 + 2))
        (offer,) = h.events("offered")
        assert offer.agent_id == "a"
        answer = ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t1", offer_id=offer.offer_id, accept=True)
        await h.send(command(answer))
        h.clock.now = T0 + 5
        await h.send(command(ac.FinishTask(agent_id="a", domain=DOMAIN, task_id="t1", wrap_up_code="processed")))
        # a idle since T0 + 5, b since T0 + 1; another router takes the domain over at T0 + 10
        h.clock.now = T0 + 10
        await h.router.on_revoke(every(h))
        await h.store.take_over(DOMAIN)
        await h.router.on_assign(every(h))
        assert len(h.router.rebuilt) == 2
        h.clock.now = T0 + 11
        await h.send(classified("t2", "q", at=T0 + 11))
        assert [o.agent_id for o in h.events("offered")] == ["a", "b"]
