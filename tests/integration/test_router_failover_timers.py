"""The router's own timers survive a failover: a second owner rebuilt from Redis widens tiers and moves
tasks into the urgent band when the first owner would have, counted from the task's original times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.infra import Infra
from tests.support.routing import DOMAIN, T0, classified, config, router_on_redis
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.domain.routing.model import AgentProfile, QueuePolicy, Tier
from workrouter.services.router.router import RouterOptions

pytestmark = pytest.mark.timeout(60)

HOUR = 3600.0
# the hand-set clock jumps minutes and hours ahead: keep the heartbeat sweep out of the way
QUIET = RouterOptions(sweep_seconds=3600.0, heartbeat_timeout_seconds=1e9)
CFG = config(
    queues=[
        # primary: level 80+; secondary after 2 min: 50+; tertiary after 10 min: 10+
        QueuePolicy("tiered", DOMAIN, tiers=(Tier(80), Tier(50, 120.0), Tier(10, 600.0)), offer_timeout_seconds=30.0),
        QueuePolicy("flat", DOMAIN, offer_timeout_seconds=30.0),
    ],
    agents=[
        AgentProfile("senior", {"s": 90}, frozenset({"tiered", "flat"}), {"workitem": 1}),
        AgentProfile("junior", {"s": 60}, frozenset({"tiered"}), {"workitem": 1}),
        AgentProfile("novice", {"s": 20}, frozenset({"tiered"}), {"workitem": 1}),
    ],
)


def classified_due(task_id: str, queue: str, *, priority: int, at: float, due_at: float) -> Envelope:
    """A TaskClassified with a due time, stamped at `at` (its wait clock)."""
    data = classified(task_id, queue, priority=priority, at=at).data.model_copy(
        update={"due_at": datetime.fromtimestamp(due_at, UTC)}
    )
    return make_event(data, source="/test", key=DOMAIN, subject=task_id, time=datetime.fromtimestamp(at, UTC))


async def test_tier_widening_survives_a_failover(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url, CFG, options=QUIET) as first:
        await first.ready("junior")  # secondary tier
        await first.ready("novice")  # tertiary tier only; nobody ready can serve the primary tier
        first.clock.now = T0 + 10
        await first.send(classified("t1", "tiered", at=T0 + 10))  # secondary from T0 + 130, tertiary from T0 + 610
        await first.at(90.0)
        assert first.offers() == []
        await first.router.close()  # the first owner goes away 40 s before the secondary threshold

        first.clock.now = T0 + 100
        prefix = first.store._prefix
        async with router_on_redis(infra.redis_url, CFG, prefix=prefix, clock=first.clock, options=QUIET) as second:
            assert second.state.engine.tasks["t1"].tier == 0
            assert second.state.engine.next_timer() == T0 + 130  # not T0 + 100 + 120: from the original enqueue
            await second.at(129.9)
            assert second.offers() == []
            await second.at(130.0)
            assert second.offers() == [("t1", "junior")]
            assert [o.tier for o in second.events("offered")] == [1]
            holder = await second.store.holder("t1")
            assert holder is not None
            assert (holder.agent_id, holder.kind) == ("junior", "offer")


async def test_a_task_crossing_into_the_urgent_band_after_a_failover_gets_ahead(infra: Infra) -> None:
    async with router_on_redis(infra.redis_url, CFG, options=QUIET) as first:
        await first.send(classified("old", "flat", priority=300))  # no due time: 300 for ever
        # 290 until its urgent band starts at T0 + 1 h (due T0 + 73 h), then +10 an hour: 300 at T0 + 2 h
        first.clock.now = T0 + 10
        await first.send(classified_due("late", "flat", priority=290, at=T0 + 10, due_at=T0 + 73 * HOUR))
        await first.router.close()  # nobody was ready: both wait, "old" ahead

        first.clock.now = T0 + 100
        prefix = first.store._prefix
        async with router_on_redis(infra.redis_url, CFG, prefix=prefix, clock=first.clock, options=QUIET) as second:
            assert not second.state.engine.tasks["late"].is_urgent
            await second.at(1 * HOUR)
            assert second.state.engine.tasks["late"].is_urgent  # the band timer was re-armed from Redis
            await second.at(3 * HOUR)  # "late" is at 310 now, "old" still 300
            await second.ready("senior")
            assert second.offers() == [("late", "senior")]
