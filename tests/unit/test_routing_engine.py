"""The matching engine, scenario by scenario: push, tiers, RONA, capacity, preferred agents, no head-of-line block."""

from __future__ import annotations

import pytest

from workrouter.domain.routing.actions import Action, AgentPaused, CapacityFreed, Offer, Revoke, RoutingError, TaskSpec
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, Strategy, Tier, needs

T0 = 1_800_000_000.0


def engine(**queue: object) -> Engine:
    fields: dict[str, object] = {"name": "q", "domain": "d", "tiers": (Tier(70), Tier(40, 60.0), Tier(0, 300.0))}
    return Engine({"q": QueuePolicy(**(fields | queue))})  # type: ignore[arg-type]


def agent(
    eng: Engine, agent_id: str, level: int = 80, *, ready: bool = True, at: float = T0, **over: object
) -> list[Action]:
    fields: dict[str, object] = {"agent_id": agent_id, "skills": {"s": level}, "queues": frozenset({"q"})}
    eng.put_agent(AgentProfile(**(fields | over)), at)  # type: ignore[arg-type]
    return eng.set_presence(agent_id, Presence.READY, None, at) if ready else []


def task(task_id: str, *, base: int = 100, level: int = 0, at: float = T0, **over: object) -> TaskSpec:
    fields: dict[str, object] = {"task_id": task_id, "queue": "q", "needs": needs({"s": level}), "base": base}
    return TaskSpec(**(fields | {"enqueued_at": at} | over))  # type: ignore[arg-type]


def offers(actions: list[Action]) -> list[tuple[str, str]]:
    return [(a.task_id, a.agent_id) for a in actions if isinstance(a, Offer)]


def test_a_new_task_is_offered_to_a_free_agent_of_the_primary_tier() -> None:
    eng = engine()
    agent(eng, "low", level=50)
    agent(eng, "high", level=90)
    (offer,) = eng.enqueue(task("t1"), T0 + 1)
    assert isinstance(offer, Offer)
    assert (offer.agent_id, offer.tier, offer.strategy, offer.how) == ("high", 0, "longest_idle", "offer")


def test_tiers_widen_with_waiting_time() -> None:
    eng = engine()
    agent(eng, "mid", level=50)
    assert eng.enqueue(task("t1"), T0) == []
    assert eng.advance(T0 + 59.9) == []
    assert offers(eng.advance(T0 + 60.0)) == [("t1", "mid")]


def test_the_tasks_own_minimum_level_holds_in_every_tier() -> None:
    eng = engine()
    agent(eng, "novice", level=20)
    eng.enqueue(task("t1", level=30), T0)
    assert eng.advance(T0 + 10_000) == []
    assert eng.tasks["t1"].tier == 2


def test_an_agent_takes_the_highest_priority_then_the_oldest() -> None:
    eng = engine()
    for i, (base, at) in enumerate([(100, T0 + 3), (300, T0 + 2), (300, T0 + 1), (200, T0)]):
        eng.enqueue(task(f"t{i}", base=base, at=at), T0 + 5)
    got = [offers(agent(eng, f"a{i}", at=T0 + 10))[0][0] for i in range(4)]
    assert got == ["t2", "t1", "t3", "t0"]


def test_no_head_of_line_blocking() -> None:
    """A top-priority task nobody ready can take does not hold back the tasks behind it."""
    eng = engine(tiers=(Tier(0),), offer_timeout_seconds=3600.0)
    eng.enqueue(task("vip", base=1000, needs=needs({"rare": 90})), T0)
    for i in range(50):
        eng.enqueue(task(f"t{i}", base=100, at=T0 + i), T0 + i)
    got = []
    for i in range(50):
        got += offers(agent(eng, f"a{i}", at=T0 + 100 + i))
    assert [t for t, _ in got] == [f"t{i}" for i in range(50)]
    assert eng.tasks["vip"].state == "waiting"


def test_reject_is_rona_the_agent_goes_not_ready_and_the_task_keeps_its_wait_clock() -> None:
    eng = engine(tiers=(Tier(0),))
    agent(eng, "a1", at=T0)
    agent(eng, "a2", at=T0 + 1)
    assert offers(eng.enqueue(task("t1", at=T0 - 30), T0 + 2)) == [("t1", "a1")]
    actions = eng.reject("t1", "a1", T0 + 5)
    assert actions[:2] == [Revoke("t1", "a1", "rejected", T0 + 5), AgentPaused("a1", "rona", T0 + 5)]
    assert offers(actions) == [("t1", "a2")]
    assert eng.agents["a1"].presence is Presence.NOT_READY
    assert eng.agents["a1"].reason == "rona"
    assert eng.tasks["t1"].enqueued_at == T0 - 30


def test_an_unanswered_offer_times_out_into_rona() -> None:
    eng = engine(tiers=(Tier(0),), offer_timeout_seconds=20.0)
    agent(eng, "a1")
    eng.enqueue(task("t1"), T0)
    assert eng.advance(T0 + 19.9) == []
    actions = eng.advance(T0 + 20)
    assert actions == [Revoke("t1", "a1", "timeout", T0 + 20), AgentPaused("a1", "rona", T0 + 20)]
    assert eng.tasks["t1"].state == "waiting"


def test_accepted_offers_do_not_time_out_and_complete_frees_capacity() -> None:
    eng = engine(tiers=(Tier(0),), offer_timeout_seconds=20.0)
    agent(eng, "a1")
    eng.enqueue(task("t1"), T0)
    eng.enqueue(task("t2"), T0)
    assert eng.accept("t1", "a1", T0 + 1) == []
    assert eng.advance(T0 + 100) == []
    assert offers(eng.complete("t1", "a1", T0 + 101)) == [("t2", "a1")]
    assert "t1" not in eng.tasks


def test_after_work_time_holds_the_capacity() -> None:
    eng = engine(tiers=(Tier(0),), after_work_seconds=30.0)
    agent(eng, "a1")
    eng.enqueue(task("t1"), T0)
    eng.enqueue(task("t2"), T0)
    eng.accept("t1", "a1", T0)
    assert eng.complete("t1", "a1", T0 + 10) == []
    actions = eng.advance(T0 + 40)
    assert actions[0] == CapacityFreed("a1", "t1", T0 + 40)
    assert offers(actions) == [("t2", "a1")]


def test_capacity_per_channel_with_an_exclusive_voice_channel() -> None:
    eng = Engine(
        {
            "mail": QueuePolicy("mail", "d", channel="workitem"),
            "call": QueuePolicy("call", "d", channel="voice"),
        }
    )
    profile = AgentProfile(
        "a1", {}, frozenset({"mail", "call"}), {"workitem": 3, "voice": 1}, exclusive_channels=frozenset({"voice"})
    )
    eng.put_agent(profile, T0)
    eng.set_presence("a1", Presence.READY, None, T0)
    got = []
    for i in range(4):
        got += offers(eng.enqueue(TaskSpec(f"w{i}", "mail", enqueued_at=T0), T0))
    got += offers(eng.enqueue(TaskSpec("v1", "call", enqueued_at=T0), T0))
    assert got == [("w0", "a1"), ("w1", "a1"), ("w2", "a1")]
    for i in range(3):
        eng.accept(f"w{i}", "a1", T0)
    assert offers(eng.complete("w0", "a1", T0 + 1)) == [("w3", "a1")]
    eng.accept("w3", "a1", T0 + 1)
    for i in (1, 2):
        assert offers(eng.complete(f"w{i}", "a1", T0 + 2)) == []  # the voice task waits: work items still held
    assert offers(eng.complete("w3", "a1", T0 + 3)) == [("v1", "a1")]
    eng.enqueue(TaskSpec("w4", "mail", enqueued_at=T0), T0 + 4)
    assert eng.tasks["w4"].state == "waiting"  # on a call: no work items


def test_preferred_agents_are_tried_alone_first() -> None:
    eng = engine(tiers=(Tier(0),), preferred_seconds=60.0)
    agent(eng, "other", at=T0)
    agent(eng, "fav", ready=False)
    assert eng.enqueue(task("t1", preferred=("fav",)), T0) == []
    assert offers(eng.set_presence("fav", Presence.READY, None, T0 + 10)) == [("t1", "fav")]
    eng.accept("t1", "fav", T0 + 10)
    eng.enqueue(task("t2", preferred=("fav",)), T0 + 11)
    assert offers(eng.advance(T0 + 71)) == [("t2", "other")]


def test_going_offline_revokes_offers_and_routes_them_again() -> None:
    eng = engine(tiers=(Tier(0),))
    agent(eng, "a1")
    eng.enqueue(task("t1"), T0)
    agent(eng, "a2", at=T0 + 1)
    actions = eng.set_presence("a1", Presence.OFFLINE, None, T0 + 2)
    assert actions[0] == Revoke("t1", "a1", "agent_offline", T0 + 2)
    assert offers(actions) == [("t1", "a2")]


def test_withdraw_takes_a_task_back_from_wherever_it_is() -> None:
    eng = engine(tiers=(Tier(0),))
    agent(eng, "a1")
    eng.enqueue(task("t1"), T0)
    eng.enqueue(task("t2"), T0)
    assert eng.withdraw("t2", T0 + 1) == []  # waiting
    eng.enqueue(task("t3"), T0 + 1)
    actions = eng.withdraw("t1", T0 + 2)  # offered
    assert actions[0] == Revoke("t1", "a1", "withdrawn", T0 + 2)
    assert offers(actions) == [("t3", "a1")]
    eng.accept("t3", "a1", T0 + 3)
    assert eng.withdraw("t3", T0 + 4) == []  # assigned: no offer to revoke
    assert eng.agents["a1"].load == {"workitem": 0}
    assert eng.tasks == {}


def test_longest_idle_counts_finishing_work_and_round_robin_does_not() -> None:
    chosen = {}
    for strategy in (Strategy.LONGEST_IDLE, Strategy.ROUND_ROBIN):
        eng = engine(tiers=(Tier(0),), strategy=strategy)
        agent(eng, "a", at=T0, capacity={"workitem": 2})
        agent(eng, "b", at=T0 + 1, capacity={"workitem": 2})
        assert offers(eng.enqueue(task("x"), T0 + 3)) == [("x", "a")]
        assert offers(eng.enqueue(task("y"), T0 + 4)) == [("y", "b")]
        eng.accept("x", "a", T0 + 4)
        eng.complete("x", "a", T0 + 5)
        chosen[strategy] = offers(eng.enqueue(task("probe"), T0 + 6))
    assert chosen == {Strategy.LONGEST_IDLE: [("probe", "b")], Strategy.ROUND_ROBIN: [("probe", "a")]}


def test_most_skilled_takes_the_highest_level() -> None:
    eng = engine(tiers=(Tier(0),), strategy=Strategy.MOST_SKILLED)
    for i, level in enumerate((50, 95, 60)):
        agent(eng, f"a{i}", level=level, at=T0 + i)
    (offer,) = eng.enqueue(task("t1"), T0 + 5)
    assert isinstance(offer, Offer)
    assert (offer.agent_id, offer.score) == ("a1", 95.0)


def test_least_occupied_compares_load_to_capacity() -> None:
    chosen = {}
    for strategy in (Strategy.LEAST_OCCUPIED, Strategy.LONGEST_IDLE):
        eng = engine(tiers=(Tier(0),), strategy=strategy)
        agent(eng, "b", at=T0, capacity={"workitem": 2})
        agent(eng, "a", at=T0 + 1, capacity={"workitem": 4})
        eng.enqueue(task("x"), T0 + 2)
        eng.enqueue(task("y"), T0 + 3)
        chosen[strategy] = offers(eng.enqueue(task("z"), T0 + 4))
    assert chosen == {Strategy.LEAST_OCCUPIED: [("z", "a")], Strategy.LONGEST_IDLE: [("z", "b")]}


def test_balanced_effort_favours_the_least_handle_time_worked() -> None:
    eng = engine(tiers=(Tier(0),), strategy=Strategy.BALANCED_EFFORT)
    agent(eng, "a", at=T0)
    agent(eng, "b", at=T0 + 1)
    eng.enqueue(task("x"), T0 + 2)
    eng.enqueue(task("y"), T0 + 2)
    eng.accept("x", "a", T0 + 3)
    eng.accept("y", "b", T0 + 3)
    eng.complete("x", "a", T0 + 13)  # 10 s of work
    eng.complete("y", "b", T0 + 503)  # 500 s
    agent(eng, "c", at=T0 + 590)  # no work yet, but idle the shortest
    (offer,) = eng.enqueue(task("probe"), T0 + 600)
    assert isinstance(offer, Offer)
    assert (offer.agent_id, offer.score) == ("c", 0.0)
    eng.set_presence("c", Presence.NOT_READY, "Lunch", T0 + 601)
    assert offers(eng.enqueue(task("next"), T0 + 602)) == [("next", "a")]


def test_errors_name_the_problem() -> None:
    eng = engine()
    agent(eng, "a1")
    with pytest.raises(RoutingError, match="unknown queue 'nope'"):
        eng.enqueue(task("t1", queue="nope"), T0)
    with pytest.raises(RoutingError, match="unknown task 'zz'"):
        eng.accept("zz", "a1", T0)
    eng.enqueue(task("t1"), T0)
    with pytest.raises(RoutingError, match="not offered/claimed with a2"):
        eng.accept("t1", "a2", T0)
