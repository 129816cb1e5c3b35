"""Pull queues (workbins, claims, get next), supervisor force-assign and park, and explain."""

from __future__ import annotations

import pytest

from tests.support import engine_pull as pull
from tests.support.engine_explain import explain
from workrouter.domain.routing import pull as routing_pull
from workrouter.domain.routing.actions import Offer, Revoke, RoutingError, TaskSpec
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy, Tier, needs

T0 = 1_800_000_000.0


def setup() -> Engine:
    eng = Engine(
        {
            "bin": QueuePolicy("bin", "d", tiers=(Tier(60), Tier(0, 100.0)), mode=Mode.PULL, claim_timeout_seconds=50),
            "push": QueuePolicy("push", "d", tiers=(Tier(60), Tier(0, 100.0))),
        }
    )
    for agent_id, level in (("senior", 80), ("junior", 20)):
        eng.put_agent(AgentProfile(agent_id, {"s": level}, frozenset({"bin", "push"}), {"workitem": 2}), T0)
        eng.set_presence(agent_id, Presence.READY, None, T0)
    for i, base in enumerate((100, 900, 500)):
        eng.enqueue(TaskSpec(f"b{i}", "bin", needs({"s": 0}), base, enqueued_at=T0), T0)
    return eng


def test_a_workbin_lists_what_the_agent_may_claim_best_first_and_pull_tasks_are_never_pushed() -> None:
    eng = setup()
    assert [t.task_id for t in pull.workbin(eng, "bin", "senior", T0 + 1)] == ["b1", "b2", "b0"]
    assert pull.workbin(eng, "bin", "junior", T0 + 1) == []  # not in the primary tier yet
    assert [t.task_id for t in pull.workbin(eng, "bin", "junior", T0 + 100)] == ["b1", "b2", "b0"]
    assert all(t.state == "waiting" for t in eng.tasks.values())


def test_a_claim_assigns_at_once_and_a_second_claim_is_refused() -> None:
    eng = setup()
    (offer,) = pull.claim(eng, "b2", "senior", T0 + 1)
    assert isinstance(offer, Offer)
    assert (offer.how, eng.tasks["b2"].state) == ("pull", "assigned")
    with pytest.raises(RoutingError, match="not in the task's current target tier 0"):
        pull.claim(eng, "b0", "junior", T0 + 2)
    with pytest.raises(RoutingError, match="b2 is assigned"):
        pull.claim(eng, "b2", "junior", T0 + 200)
    assert pull.claim(eng, "b0", "junior", T0 + 200)[0] == Offer(
        "b0", "junior", "bin", 1, "longest_idle", -T0, "pull", T0 + 200
    )


def test_get_next_hands_the_best_task_and_takes_it_back_if_not_started() -> None:
    eng = setup()
    (offer,) = pull.get_next(eng, "senior", T0 + 1)
    assert isinstance(offer, Offer)
    assert (offer.task_id, offer.how, eng.tasks["b1"].state) == ("b1", "get_next", "claimed")
    actions = eng.advance(T0 + 51)
    assert actions == [Revoke("b1", "senior", "claim_timeout", T0 + 51)]
    assert eng.tasks["b1"].state == "waiting"
    pull.get_next(eng, "senior", T0 + 52)
    assert eng.accept("b1", "senior", T0 + 53) == []
    assert eng.advance(T0 + 500) == []
    assert eng.tasks["b1"].state == "assigned"


def test_force_assign_bypasses_tiers_but_never_capacity() -> None:
    eng = setup()
    (offer,) = pull.force_assign(eng, "b0", "junior", T0 + 1)
    assert isinstance(offer, Offer)
    assert (offer.how, offer.tier) == ("force", -2)
    pull.force_assign(eng, "b1", "junior", T0 + 1)
    with pytest.raises(RoutingError, match=r"no free capacity on workitem \(workitem 2/2\)"):
        pull.force_assign(eng, "b2", "junior", T0 + 1)


def test_a_supervisor_takes_a_held_task_back_to_its_place_and_it_is_routed_again() -> None:
    eng = Engine({"push": QueuePolicy("push", "d", tiers=(Tier(0),))})
    for agent_id in ("first", "second"):
        eng.put_agent(AgentProfile(agent_id, {}, frozenset({"push"}), {"workitem": 1}), T0)
    eng.set_presence("first", Presence.READY, None, T0)
    (offer,) = eng.enqueue(TaskSpec("t", "push", (), 100, enqueued_at=T0), T0)
    assert isinstance(offer, Offer)
    eng.accept("t", "first", T0 + 1)
    eng.set_presence("first", Presence.OFFLINE, None, T0 + 2)  # accepted work stays with it
    eng.set_presence("second", Presence.READY, None, T0 + 3)
    actions = routing_pull.take_back(eng, "t", T0 + 4)
    assert actions[0] == Revoke("t", "first", "taken_back", T0 + 4)
    assert [(a.task_id, a.agent_id) for a in actions if isinstance(a, Offer)] == [("t", "second")]
    assert (eng.tasks["t"].enqueued_at, eng.agents["first"].load) == (T0, {"workitem": 0})
    assert eng.enqueue(TaskSpec("t2", "push", (), 100, enqueued_at=T0 + 5), T0 + 5) == []  # nobody free: waits
    with pytest.raises(RoutingError, match="t2 is waiting; only a task an agent holds can be taken back"):
        routing_pull.take_back(eng, "t2", T0 + 6)


def test_a_reassignment_gives_the_task_to_the_named_agent_or_changes_nothing() -> None:
    eng = setup()
    pull.force_assign(eng, "b0", "junior", T0 + 1)
    pull.force_assign(eng, "b1", "senior", T0 + 1)
    pull.force_assign(eng, "b2", "senior", T0 + 1)  # senior is full (2 of 2)
    before = (dict(eng.agents["junior"].load), eng.tasks["b0"].agent_id)
    with pytest.raises(RoutingError, match="no free capacity"):
        routing_pull.reassign(eng, "b0", "senior", T0 + 2)
    assert (dict(eng.agents["junior"].load), eng.tasks["b0"].agent_id) == before  # refused before any change
    with pytest.raises(RoutingError, match="holds task b0 already"):
        routing_pull.reassign(eng, "b0", "junior", T0 + 2)
    actions = routing_pull.reassign(eng, "b1", "junior", T0 + 2)
    assert actions[:2] == [
        Revoke("b1", "senior", "taken_back", T0 + 2),
        Offer("b1", "junior", "bin", -2, "longest_idle", 0.0, "force", T0 + 2),
    ]
    assert (eng.tasks["b1"].agent_id, eng.agents["senior"].load["workitem"]) == ("junior", 1)


def test_a_parked_task_waits_in_one_agents_personal_workbin() -> None:
    eng = setup()
    pull.park(eng, "b0", "junior", T0 + 1)
    assert [t.task_id for t in pull.personal_workbin(eng, "junior")] == ["b0"]
    assert "b0" not in [t.task_id for t in pull.workbin(eng, "bin", "senior", T0 + 2)]
    with pytest.raises(RoutingError, match="parked in junior's personal workbin"):
        pull.claim(eng, "b0", "senior", T0 + 3)
    (offer,) = pull.claim(eng, "b0", "junior", T0 + 3)
    assert isinstance(offer, Offer)
    assert offer.how == "personal"
    assert pull.personal_workbin(eng, "junior") == []
    pull.park(eng, "b1", "junior", T0 + 4)
    eng.withdraw("b1", T0 + 5)
    assert pull.personal_workbin(eng, "junior") == []


def test_explain_says_who_may_take_a_task_and_why_the_others_may_not() -> None:
    eng = setup()
    eng.put_agent(AgentProfile("linguist", {"lang:fr": 90}, frozenset({"push"})), T0)
    eng.put_agent(AgentProfile("away", {"s": 90}, frozenset({"push"})), T0)
    eng.set_presence("away", Presence.NOT_READY, "lunch", T0)
    eng.enqueue(TaskSpec("p1", "push", needs({"s": 50}), 100, enqueued_at=T0), T0)  # offered to senior at once
    eng.enqueue(TaskSpec("p2", "push", needs({"s": 50}), 100, enqueued_at=T0), T0)
    eng.enqueue(TaskSpec("p3", "push", needs({"s": 50}), 100, enqueued_at=T0), T0)
    why = explain(eng, "p3", T0 + 10)
    assert (why.state, why.tier, why.tier_min_level, why.next_tier_in_seconds) == ("waiting", 0, 60, 90.0)
    reasons = {v.agent_id: v.reason for v in why.agents}
    assert reasons == {
        "away": "not ready (lunch)",
        "junior": "s level 20 < 60 needed in tier 0",
        "linguist": "lacks skill s",
        "senior": "no free capacity on workitem (workitem 2/2)",
    }
    with pytest.raises(RoutingError, match="holds no task 'nope'"):
        explain(eng, "nope", T0)
