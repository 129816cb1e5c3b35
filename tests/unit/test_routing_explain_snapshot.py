"""Explaining a task from Redis values: the engine's verdicts, its tier and timers, and who holds it."""

from __future__ import annotations

from tests.support import engine_explain
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.explain_snapshot import AgentView, HoldView, explain_held, explain_waiting
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy, Tier, needs

NOW = 1_800_000_000.0
CLAIMS = QueuePolicy("claims", "bo", tiers=(Tier(70), Tier(40, 600.0)), mode=Mode.PULL, preferred_seconds=120.0)
PROFILES = [
    AgentProfile("ann", skills={"claims": 80, "fraud": 80}, queues=frozenset({"claims"}), capacity={"workitem": 2}),
    AgentProfile("ben", skills={"claims": 50, "fraud": 50}, queues=frozenset({"claims"})),
    AgentProfile("cy", skills={"claims": 90}, queues=frozenset({"claims"})),
    AgentProfile("dee", skills={"claims": 90, "fraud": 90}, queues=frozenset({"claims"})),
    AgentProfile("eve", skills={"claims": 90, "fraud": 90}, queues=frozenset({"claims"})),
    AgentProfile("fay", skills={"claims": 90, "fraud": 90}, queues=frozenset({"other"})),
]
PRESENCE = {"ann": (Presence.READY, None), "dee": (Presence.NOT_READY, "lunch"), "eve": (Presence.READY, None)}
LOAD = {"eve": {"workitem": 1}}


def views() -> dict[str, AgentView]:
    return {
        p.agent_id: AgentView(p, *PRESENCE.get(p.agent_id, (Presence.READY, None)), LOAD.get(p.agent_id, {}))
        for p in PROFILES
    }


def task(**over: object) -> QueueEntry:
    fields: dict[str, object] = {
        "task_id": "t1",
        "queue": "claims",
        "domain": "bo",
        "channel": "workitem",
        "needs": needs({"claims": 10, "fraud": 20}),
        "base": 100,
        "business_value": 0.0,
        "due_at": None,
        "enqueued_at": NOW - 30,
        "seq": 1,
    }
    fields.update(over)
    return QueueEntry(**fields)  # type: ignore[arg-type]


def test_the_verdicts_of_a_waiting_task() -> None:
    explanation = explain_waiting(task(), CLAIMS, views(), NOW)
    assert (explanation.state, explanation.tier, explanation.tier_min_level) == ("waiting", 0, 70)
    assert (explanation.waited_seconds, explanation.next_tier_in_seconds, explanation.priority_now) == (30, 570, 100)
    assert [(v.agent_id, v.eligible, v.reason) for v in explanation.agents] == [
        ("ann", True, "eligible"),
        ("ben", False, "claims level 50 < 70 needed in tier 0"),
        ("cy", False, "lacks skill fraud"),
        ("dee", False, "not ready (lunch)"),
        ("eve", False, "no free capacity on workitem (workitem 1/1)"),
    ]


def test_the_preferred_phase() -> None:
    explanation = explain_waiting(task(preferred=("ben", "zed")), CLAIMS, views(), NOW)
    assert (explanation.tier, explanation.tier_min_level, explanation.next_tier_in_seconds) == (-1, None, 90)
    reasons = {v.agent_id: v.reason for v in explanation.agents}
    assert reasons["ben"] == "eligible"
    assert reasons["ann"] == "only the task's preferred agents are tried for now"
    assert reasons["zed"] == "unknown agent (named as preferred but not configured)"


def test_the_same_refusals_as_the_engine() -> None:
    engine = Engine({"claims": CLAIMS})
    for profile in PROFILES:
        engine.put_agent(profile, NOW - 60)
        presence, reason = PRESENCE.get(profile.agent_id, (Presence.READY, None))
        engine.set_presence(profile.agent_id, presence, reason, NOW - 60)
    engine.agents["eve"].load["workitem"] = 1
    entry = task()
    engine.enqueue(entry.spec(), NOW - 30)
    theirs = engine_explain.explain(engine, "t1", NOW)
    ours = explain_waiting(entry, CLAIMS, views(), NOW)
    assert [(v.agent_id, v.eligible) for v in ours.agents] == [(v.agent_id, v.eligible) for v in theirs.agents]
    assert [v.reason for v in ours.agents if not v.eligible] == [v.reason for v in theirs.agents if not v.eligible]
    assert (ours.tier, ours.tier_min_level, ours.waited_seconds, ours.next_tier_in_seconds, ours.priority_now) == (
        theirs.tier,
        theirs.tier_min_level,
        theirs.waited_seconds,
        theirs.next_tier_in_seconds,
        theirs.priority_now,
    )


def test_held_and_parked_tasks() -> None:
    held = explain_held("t1", task(), HoldView("ann", "offer", "workitem", NOW - 5), NOW)
    assert (held.state, held.agent_id, held.how, held.since, held.held_seconds) == (
        "offered",
        "ann",
        "offer",
        NOW - 5,
        5,
    )
    done = explain_held("t1", task(), HoldView("ann", "assign", "workitem", NOW - 5), NOW, in_after_work=True)
    assert done.state == "wrap_up"
    parked = explain_held("t1", task(parked_for="ben"), None, NOW)
    assert (parked.state, parked.agent_id, parked.how) == ("parked", "ben", None)
    gone = explain_held("t9", None, HoldView("ann", "claim", "workitem", NOW), NOW)
    assert (gone.state, gone.queue, gone.waited_seconds) == ("claimed", None, None)
