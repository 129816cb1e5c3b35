"""The router's live gauges from the engine's tallies are those of the walk over every task they replace.

The tallies count wait clocks by whole second (domain/routing/tally.py): with whole-second clocks, as
here, every sample is the walk's exactly, at whole and fractional scrape instants.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.fake_router_store import memory_router
from tests.support.metrics_walk import describe_by_walk
from tests.support.routing import DOMAIN, T0, classified, command, config
from workrouter.adapters.redis_agent_records import ReserveResult
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import AgentProfile, Presence
from workrouter.services.router.carry_out import DomainState
from workrouter.services.router.metrics_collector import Families, describe

Samples = list[tuple[str, list[tuple[dict[str, str], float]]]]


def scrape(state: DomainState, now: float, *, by_walk: bool = False) -> Samples:
    """Every sample of every family, in the order the collector yields them."""
    out = Families()
    (describe_by_walk if by_walk else describe)(state, now, out)
    return [(family.name, [(s.labels, s.value) for s in family.samples]) for family in out.all()]


async def test_every_gauge_equals_the_walk_at_whole_and_fractional_scrape_instants() -> None:
    agents = [
        AgentProfile("a", {"s": 90}, frozenset({"q", "pull"}), {"workitem": 2}),
        AgentProfile("b", {"s": 70}, frozenset({"pull"}), {"workitem": 1}),
        AgentProfile("c", {"s": 20}, frozenset({"q"}), {"workitem": 1}),
    ]
    async with memory_router(config(agents=agents)) as h:
        h.clock.now = T0 + 100.5
        # wait clocks sharing a second, a threshold's width apart, a second apart, and one due soon (urgent)
        for i, at in enumerate((T0, T0, T0 + 40, T0 + 80, T0 + 81, T0 + 99)):
            await h.send(classified(f"q{i}", at=at))
        soon = classified("soon", at=T0 + 60)
        due = soon.data.model_copy(update={"due_at": datetime.fromtimestamp(T0 + 3600, UTC)})
        await h.send(soon.model_copy(update={"data": due}))
        for i, at in enumerate((T0 + 10, T0 + 20, T0 + 95)):
            await h.send(classified(f"p{i}", queue="pull", at=at))
        await h.presence("a", Presence.READY)  # offered the urgent one and the oldest
        offer = h.events("offered")[0]
        await h.send(
            command(
                ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id=offer.task_id, offer_id=offer.offer_id, accept=True)
            )
        )
        await h.presence("b", Presence.READY)
        assert await h.store.reserve("b", "p1", "workitem", "assign", h.clock()) is ReserveResult.OK
        await h.send(command(ac.TaskClaimed(agent_id="b", domain=DOMAIN, task_id="p1", how="pull")))
        park = ac.SupervisorAssign(agent_id="c", domain=DOMAIN, task_id="p0", action="park", supervisor="sue")
        await h.send(command(park))
        await h.presence("c", Presence.NOT_READY, "lunch")
        state = h.router.domains[DOMAIN]
        held = {task.state for task in state.engine.tasks.values()}
        assert held == {"waiting", "offered", "assigned", "parked"}
        assert any(task.is_urgent for task in state.engine.tasks.values())

        for now in (T0 + 100.5, T0 + 101.0, T0 + 120.0, T0 + 120.25, T0 + 160.3, T0 + 400.9, T0 + 4000.0):
            h.clock.now = now
            assert scrape(state, now) == scrape(state, now, by_walk=True), now
