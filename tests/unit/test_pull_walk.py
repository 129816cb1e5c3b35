"""The api's walk over the pull indexes gives exactly what the full scan of every entry gives.

The reference is workbin.workbin / next_candidates / personal_workbin over the entries the api used to
read whole (waiting: nobody holds them, not parked, not in after-work). The indexes are built as the
router files entries (pull_index.placement), read in Redis's order (score, then member bytewise), with
what a real index may also hold: members of held tasks, and members left behind by an older version
of an entry (another queue, priority, enqueue time or skills).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.pull_cases import AGENTS, NOW, QUEUES, build, entries_case, profile_case, waiting
from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry, tier_since
from workrouter.domain.routing.model import AgentProfile, Mode, QueuePolicy, Tier, needs
from workrouter.domain.routing.pull_ages import TierAges
from workrouter.domain.routing.pull_index import (
    PARKED,
    STATIC,
    URGENT,
    IndexKey,
    member,
    placement,
    prefix_of,
    read_member,
    sortable,
    unsortable,
)
from workrouter.domain.routing.pull_parked import ParkedWalk
from workrouter.domain.routing.pull_walk import PullWalk, Step, appearance_key
from workrouter.domain.routing.workbin import (
    next_candidates,
    order_key,
    personal_workbin,
    priority_pair,
    urgency_now,
    workbin,
)


def run(walk: PullWalk | ParkedWalk, rows: Mapping[str, QueueEntry], held: set[str], index: Any) -> list[str]:
    """The walk carried out on the indexes in memory (a Redis stand-in): its result's task ids."""
    ordered = {key: sorted(members.items(), key=lambda m: (m[1], m[0].encode())) for key, members in index.items()}
    step: Step | None
    while (step := walk.next_step()) is not None:
        if step.classes:
            walk.classes_read({q: {k.skills for k in index if k.kind == STATIC and k.name == q} for q in step.classes})
        if step.pages:
            walk.pages_read([ordered.get(p.key, [])[p.start : p.start + p.count] for p in step.pages])
        if step.entries:
            found = {t: (rows[t].to_json() if t in rows else None, t in held) for t in step.entries}
            walk.entries_read(found)
    return [e.task_id for e in walk.result()]


@settings(max_examples=120, deadline=None)
@given(
    entries_case,
    profile_case,
    st.integers(1, 8),
    st.floats(-4000.0, 4000.0),
)
def test_workbins_and_get_next_are_the_full_scan(
    rows: list[dict[str, Any]], profile: AgentProfile, limit: int, shift: float
) -> None:
    entries, held, index = build(rows)
    by_id = {e.task_id: e for e in entries}
    now = NOW + shift
    for queue in ("claims", "experts"):
        theirs = [e.task_id for e in workbin(profile, QUEUES[queue], waiting(entries, held), now, limit=limit)]
        ours = run(PullWalk(profile, {queue: QUEUES[queue]}, now, limit=limit), by_id, held, index)
        assert ours == theirs, queue
    pull = {q: QUEUES[q] for q in profile.queues if QUEUES[q].mode is Mode.PULL}
    theirs = [e.task_id for e in next_candidates(profile, QUEUES, waiting(entries, held), now, limit=limit)]
    assert run(PullWalk(profile, pull, now, limit=limit), by_id, held, index) == theirs


@settings(max_examples=80, deadline=None)
@given(entries_case, st.integers(1, 8), st.sampled_from(AGENTS))
def test_personal_workbins_are_the_full_scan(rows: list[dict[str, Any]], limit: int, agent: str) -> None:
    entries, held, index = build(rows)
    parked = [e for e in entries if e.task_id not in held and e.after_work_until is None]
    theirs = [e.task_id for e in personal_workbin(agent, parked)[:limit]]
    assert run(ParkedWalk(agent, limit=limit), {e.task_id: e for e in entries}, held, index) == theirs


@settings(max_examples=80, deadline=None)
@given(entries_case, profile_case, st.integers(1, 8), st.integers(1, 30))
def test_a_walk_cut_short_returns_only_what_the_full_scan_ranks_first(
    rows: list[dict[str, Any]], profile: AgentProfile, limit: int, max_scan: int
) -> None:
    entries, held, index = build(rows)
    by_id = {e.task_id: e for e in entries}
    pull = {q: QUEUES[q] for q in profile.queues if QUEUES[q].mode is Mode.PULL}
    theirs = [e.task_id for e in next_candidates(profile, QUEUES, waiting(entries, held), NOW, limit=limit)]
    walk = PullWalk(profile, pull, NOW, limit=limit, max_scan=max_scan)
    ours = run(walk, by_id, held, index)
    assert ours == theirs[: len(ours)]
    assert walk.truncated or ours == theirs
    parked = ParkedWalk("ann", limit=limit, max_scan=max_scan)
    mine = run(parked, by_id, held, index)
    theirs = [
        e.task_id
        for e in personal_workbin("ann", [e for e in entries if e.task_id not in held and e.after_work_until is None])
    ][:limit]
    assert mine == theirs[: len(mine)]
    assert parked.truncated or mine == theirs


def test_the_urgent_band_keeps_exact_order_where_floats_round_alike() -> None:
    """Two urgent tasks a hair apart and a static one between them: the rounded priorities are equal, the
    exact ones are not, and the order is the exact one (a float sum would call all three a tie)."""
    policy = PriorityPolicy()
    base = QueueEntry("u1", "claims", "bo", "workitem", (), 100, 0.0, NOW + 3600.0, NOW, 1)
    later = dataclasses.replace(base, task_id="u2", due_at=NOW + 3600.0 + 2.0**-22, seq=2)
    high, low = priority_pair(base, NOW, policy)
    assert priority_pair(later, NOW, policy) < (high, low)
    static = dataclasses.replace(base, task_id="s", due_at=None, base=0, business_value=0.0, seq=3)
    entries = [static, later, base]
    ranked = sorted(entries, key=lambda e: order_key(e, NOW, policy))
    index: dict[IndexKey, dict[str, float]] = {}
    for e in entries:
        for key, score in placement(e, pull=True):
            index.setdefault(key, {})[member(e)] = score
    profile = AgentProfile("ann", {}, frozenset({"claims"}))
    walk = PullWalk(profile, {"claims": QUEUES["claims"]}, NOW, limit=3)
    assert run(walk, {e.task_id: e for e in entries}, set(), index) == [e.task_id for e in ranked]


def test_members_sort_as_enqueue_time_then_arrival_then_id() -> None:
    times = [-1e9, -1.5, -0.0, 0.0, 5e-324, 1.0, NOW - 1e-6, NOW, NOW + 2.0**-20, 1e300]
    assert sorted(times, key=sortable) == sorted(times)
    assert [unsortable(sortable(t)) for t in times] == times
    e = QueueEntry("t-1", "claims", "bo", "workitem", needs({"a:b": 5}), 1, 0.0, None, NOW, 7, ("ann",))
    met = read_member(member(e))
    assert (met.enqueued_at, met.seq, met.task_id) == (NOW, 7, "t-1")
    seqs = [
        dataclasses.replace(e, seq=s, task_id=t) for s, t in ((-5, "z"), (0, "b"), (3, "a"), (3, "ab"), (2**40, "a"))
    ]
    assert sorted(seqs, key=lambda x: member(x).encode()) == sorted(seqs, key=lambda x: (x.seq, x.task_id))
    assert placement(dataclasses.replace(e, parked_for="ben"), pull=True) == [(IndexKey(PARKED, "ben"), 0.0)]
    assert [k.kind for k, _ in placement(dataclasses.replace(e, due_at=NOW), pull=True)] == [STATIC, URGENT]
    assert placement(e, pull=False) == []


_task = st.tuples(
    st.integers(0, 1000),
    st.floats(0.0, 1e12),
    st.one_of(st.none(), st.floats(-1e10, 1e11)),
    st.floats(0.0, 1e10),
)


@settings(max_examples=500, deadline=None)
@given(
    _task,
    st.floats(-1e10, 1e11),
    st.sampled_from([PriorityPolicy(), PriorityPolicy(urgency_per_hour=0.0), PriorityPolicy(7.3, 0.1, 1.0)]),
)
def test_a_task_ranks_where_the_better_of_its_members_ranks(
    task: tuple[int, float, float | None, float], now: float, policy: PriorityPolicy
) -> None:
    """The lemma the walk stands on: read from its scores alone, the best of a task's members in the bands
    is exactly workbin.order_key of its entry, at any time."""
    base, value, due_at, enqueued_at = task
    e = QueueEntry("t", "claims", "bo", "workitem", (), base, value, due_at, enqueued_at, 3)
    for when in (now, now + abs(now) * 1e-9 + 1.0):
        urgency = urgency_now(when, policy)
        keys = [
            appearance_key(k.kind, score, member(e), urgency) for k, score in placement(e, pull=True, policy=policy)
        ]
        high, low, _, _ = order_key(e, when, policy)
        assert min(keys) == (high, low, prefix_of(e), "t")


@settings(max_examples=500, deadline=None)
@given(
    st.floats(-1e10, 1e10),
    st.floats(-1e6, 1e6),
    st.booleans(),
    st.sampled_from(
        [QUEUES["claims"], QueuePolicy("q", "bo", tiers=(Tier(9), Tier(5, 1e-300), Tier(3, 0.1), Tier(0, 7e5)))]
    ),
    st.floats(0.0, 1e5),
)
def test_a_tier_read_from_the_digits_is_tier_since(
    now: float, age: float, preferred: bool, policy: QueuePolicy, preferred_seconds: float
) -> None:
    policy = dataclasses.replace(policy, preferred_seconds=preferred_seconds)
    ages = TierAges(policy, now, preferred=preferred)
    for enqueued_at in (now - age, now - policy.tiers[-1].after_seconds, now - preferred_seconds, now, now - 600.0):
        for t in (enqueued_at, math.nextafter(enqueued_at, math.inf), math.nextafter(enqueued_at, -math.inf)):
            assert ages.tier(sortable(t)) == tier_since(t, preferred, policy, now)


def test_a_walk_reads_a_page_or_two_however_many_wait() -> None:
    profile = AgentProfile("ann", {"claims": 80}, frozenset({"claims"}))
    rows = {}
    index: dict[IndexKey, dict[str, float]] = {}
    for i in range(20_000):
        e = QueueEntry(f"t{i:05d}", "claims", "bo", "workitem", needs({"claims": 10}), i % 7 * 100, 0.0,
                       NOW + (i % 13) * 3600.0 if i % 3 == 0 else None, NOW - i, i)  # fmt: skip
        rows[e.task_id] = e
        for key, score in placement(e, pull=True):
            index.setdefault(key, {})[member(e)] = score
    walk = PullWalk(profile, {"claims": QUEUES["claims"]}, NOW, limit=50)
    assert len(run(walk, rows, set(), index)) == 50
    assert walk.scanned <= 2 * (50 + 8)
    novice = AgentProfile("ann", {"claims": 5}, frozenset({"claims"}))  # below the class's own level
    walk = PullWalk(novice, {"claims": QUEUES["claims"]}, NOW, limit=50, max_scan=500)
    assert run(walk, rows, set(), index) == []
    assert (walk.scanned, walk.truncated) == (0, False), "a class the agent may never take is not read"
    junior = AgentProfile("ann", {"claims": 50}, frozenset({"claims"}))  # tier 1 only: tasks 10 minutes old
    walk = PullWalk(junior, {"claims": QUEUES["claims"]}, NOW - 20_000 + 500, limit=50, max_scan=500)
    assert run(walk, rows, set(), index) == []
    assert walk.truncated, "every task is too young for the junior: the walk stops at its limit"
    assert 500 <= walk.scanned < 500 + 2 * 1000
