"""Pull work from Redis entries: eligibility by tier, preferred agents, order — the same as the engine's."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import engine_pull as pull
from workrouter.domain.priority import PriorityPolicy, priority_at
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy, Tier, needs
from workrouter.domain.routing.workbin import (
    is_waiting,
    next_candidates,
    next_tier_in,
    parse_entries,
    personal_workbin,
    priority_now,
    pull_refusal,
    tier_refusal,
    workbin,
)

NOW = 1_800_000_000.0
CLAIMS = QueuePolicy("claims", "bo", tiers=(Tier(70), Tier(40, 600.0)), mode=Mode.PULL, preferred_seconds=120.0)
PUSH = QueuePolicy("general", "bo")
ANN = AgentProfile("ann", skills={"claims": 80}, queues=frozenset({"claims", "general"}))
BEN = AgentProfile("ben", skills={"claims": 50}, queues=frozenset({"claims"}))


def entry(task_id: str, **over: object) -> QueueEntry:
    fields: dict[str, object] = {
        "task_id": task_id,
        "queue": "claims",
        "domain": "bo",
        "channel": "workitem",
        "needs": needs({"claims": 10}),
        "base": 100,
        "business_value": 0.0,
        "due_at": None,
        "enqueued_at": NOW,
        "seq": 1,
    }
    fields.update(over)
    return QueueEntry(**fields)  # type: ignore[arg-type]


def test_priority_now_is_the_priority_function() -> None:
    policy = PriorityPolicy()
    for due in (None, NOW + 3600, NOW + 100 * 3600, NOW - 3600):
        e = entry("t", base=120, business_value=3.0, due_at=due)
        due_dt = None if due is None else datetime.fromtimestamp(due, UTC)
        expected = priority_at(120, 3.0, due_dt, datetime.fromtimestamp(NOW, UTC), policy)
        assert abs(priority_now(e, NOW, policy) - expected) < 1e-9


def test_tiers_and_the_preferred_phase() -> None:
    waiting = entry("t1", preferred=("ben",))
    assert tier_refusal(ANN, waiting, CLAIMS, NOW) == "only the task's preferred agents are tried for now"
    assert tier_refusal(BEN, waiting, CLAIMS, NOW) == ""  # its own minimum (10), not the tier's
    assert next_tier_in(waiting, CLAIMS, NOW) == 120.0
    assert tier_refusal(BEN, waiting, CLAIMS, NOW + 120) == "claims level 50 < 70 needed in tier 0"
    assert tier_refusal(ANN, waiting, CLAIMS, NOW + 120) == ""
    assert next_tier_in(waiting, CLAIMS, NOW + 120) == 600.0
    assert tier_refusal(BEN, waiting, CLAIMS, NOW + 720) == ""
    assert next_tier_in(waiting, CLAIMS, NOW + 720) is None
    hard = entry("t2", needs=needs({"claims": 60, "fraud": 1}), preferred=("ben",))
    assert tier_refusal(BEN, hard, CLAIMS, NOW) == "claims level 50 < 60 needed as a preferred agent"
    assert tier_refusal(ANN, hard, CLAIMS, NOW + 120) == "lacks skill fraud"
    outsider = AgentProfile("cy", skills={"claims": 90})
    assert tier_refusal(outsider, entry("t3"), CLAIMS, NOW) == "not a member of queue claims"
    assert pull_refusal(ANN, entry("t4", queue="general"), PUSH, NOW) == (
        "queue general is a push queue; its tasks are offered, not claimed"
    )


def test_order_is_priority_then_age_then_arrival() -> None:
    entries = [
        entry("late", enqueued_at=NOW - 10, seq=5),
        entry("old", enqueued_at=NOW - 20, seq=9),
        entry("tie", enqueued_at=NOW - 10, seq=6),
        entry("high", base=500, seq=10),
        entry("urgent", base=50, due_at=NOW + 3600, seq=11),  # 71 h inside the horizon: 50 + 710
        entry("parked", base=999, parked_for="ann"),
        entry("other", base=999, queue="general"),
        entry("too-hard", base=999, needs=needs({"claims": 90})),
    ]
    assert [e.task_id for e in workbin(ANN, CLAIMS, entries, NOW, limit=10)] == ["urgent", "high", "old", "late", "tie"]
    assert [e.task_id for e in workbin(ANN, CLAIMS, entries, NOW, limit=2)] == ["urgent", "high"]
    queues = {"claims": CLAIMS, "general": PUSH}
    assert [e.task_id for e in next_candidates(ANN, queues, entries, NOW, limit=1)] == ["urgent"]
    assert [e.task_id for e in personal_workbin("ann", entries)] == ["parked"]


def test_waiting_and_parsing() -> None:
    assert is_waiting({"queue": "claims"}, held=False)
    assert not is_waiting({"queue": "claims"}, held=True)
    assert not is_waiting({"parked_for": "ann"}, held=False)
    assert not is_waiting({"after_work_until": NOW}, held=False)
    good = entry("t1").to_json()
    assert [e.task_id for e in parse_entries({"t1": good, "t2": {"queue": "claims"}})] == ["t1"]


_task = st.tuples(
    st.integers(0, 1000),
    st.floats(0, 50),
    st.one_of(st.none(), st.floats(-100 * 3600, 200 * 3600)),
    st.floats(0, 3600),
    st.sampled_from([needs({"claims": 10}), needs({"claims": 60}), needs({"claims": 45})]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_task, min_size=1, max_size=25), st.floats(0, 1200))
def test_the_same_order_and_eligibility_as_the_engine(
    tasks: list[tuple[int, float, float | None, float, object]], later: float
) -> None:
    engine = Engine({"claims": CLAIMS})
    engine.put_agent(BEN, NOW - 4000)
    engine.set_presence("ben", Presence.READY, None, NOW - 4000)
    entries = []
    for i, (base, value, due, age, skill_needs) in enumerate(tasks):
        e = entry(
            f"t{i}",
            base=base,
            business_value=value,
            due_at=None if due is None else NOW + due,
            enqueued_at=NOW - 3600 + age,
            seq=i + 1,
            needs=skill_needs,
        )
        engine.enqueue(e.spec(), NOW - 3600 + 3600)
        entries.append(e)
    now = NOW + later
    theirs = [t.task_id for t in pull.workbin(engine, "claims", "ben", now, limit=100)]
    ours = [e.task_id for e in workbin(BEN, CLAIMS, entries, now, limit=100)]
    assert ours == theirs
