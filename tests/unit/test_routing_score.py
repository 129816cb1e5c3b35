"""The score an offer records is a finite number under every strategy, so its TaskOffered can be read back.

Found by the end-to-end test: a round-robin queue's first offer to an agent never offered before
had the score -inf, which JSON writes as null, and every consumer dead-lettered the event.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from workrouter.contracts.codec import decode, encode
from workrouter.contracts.envelope import make_event
from workrouter.contracts.task_events import TaskOffered
from workrouter.domain.routing.actions import Offer, TaskSpec
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, Strategy, Tier, needs

T0 = 1_800_000_000.0


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_first_offer_to_a_fresh_agent_has_a_finite_score_that_survives_the_wire(strategy: Strategy) -> None:
    eng = Engine({"q": QueuePolicy(name="q", domain="d", tiers=(Tier(0),), strategy=strategy)})
    eng.put_agent(AgentProfile(agent_id="a", skills={"s": 50}, queues=frozenset({"q"})), T0)
    eng.set_presence("a", Presence.READY, None, T0)
    (offer,) = eng.enqueue(TaskSpec(task_id="t", queue="q", needs=needs({"s": 10}), base=100, enqueued_at=T0), T0 + 1)
    assert isinstance(offer, Offer)
    assert math.isfinite(offer.score)
    payload = TaskOffered(
        task_id="t", offer_id="o", agent_id="a", queue="q", tier=offer.tier, strategy=offer.strategy,
        score=offer.score, offer_expires_at=datetime.fromtimestamp(T0 + 31, UTC),
    )  # fmt: skip
    assert decode(encode(make_event(payload, source="/test", key="t"))).data == payload
