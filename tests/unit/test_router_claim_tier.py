"""A pull claim's TaskAccepted names the tier the task had reached when the api reserved it.

Found by the end-to-end test: a claim made while no router owned the domain was adopted by the new
owner's rebuild (which does not file the task into a tier), and the TaskAccepted then said tier 0
for an agent that only the widened tier 1 lets take the task.
"""

from __future__ import annotations

from tests.support.fake_router_store import memory_router
from tests.support.routing import DOMAIN, T0, classified, command, config
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy, Tier


async def test_a_claim_adopted_by_a_new_owner_is_announced_with_the_tier_that_allowed_it() -> None:
    pull = QueuePolicy("pull", DOMAIN, mode=Mode.PULL, tiers=(Tier(50), Tier(0, 60.0)))
    junior = AgentProfile("c", {"s": 20}, frozenset({"pull"}), {"workitem": 1})
    async with memory_router(config(queues=[pull], agents=[junior])) as h:
        await h.presence("c", Presence.READY)
        await h.send(classified("t1", "pull", at=T0))
        h.clock.now = T0 + 61  # tier 1 (anyone) since T0 + 60: the api lets the junior claim it
        assert (await h.store.reserve("c", "t1", "workitem", "assign", h.clock())).ok
        partitions = set(range(h.router.options.partitions))
        await h.router.on_revoke(partitions)  # the owner dies before it hears of the claim; another takes over
        await h.store.take_over(DOMAIN)  # (counted as a takeover, so the domain given back is rebuilt here)
        await h.router.on_assign(partitions)
        assert len(h.router.rebuilt) == 2
        await h.send(command(ac.TaskClaimed(agent_id="c", domain=DOMAIN, task_id="t1", how="pull")))
        (accepted,) = h.events("accepted")
        assert (accepted.agent_id, accepted.how, accepted.tier) == ("c", "pull", 1)
