"""The api's walk over the pull indexes gives exactly what the full scan of every entry gives.

The reference is workbin.workbin / next_candidates / personal_workbin over the entries the api used to
read whole (waiting: nobody holds them, not parked, not in after-work). The indexes are built as the
router files entries (pull_index.placement), read in Redis's order (score, then member bytewise), with
what a real index may also hold: members of held tasks, and members left behind by an older version
of an entry (another queue, priority, enqueue time or skills).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Mode, QueuePolicy, Tier, needs
from workrouter.domain.routing.pull_index import (
    PARKED,
    STATIC,
    URGENT,
    IndexKey,
    member,
    placement,
    read_member,
    sortable,
    unsortable,
)
from workrouter.domain.routing.pull_walk import ParkedWalk, PullWalk, Step, appearance_key
from workrouter.domain.routing.workbin import (
    next_candidates,
    order_key,
    personal_workbin,
    priority_pair,
    urgency_now,
    workbin,
)

NOW = 1_800_000_000.0
HORIZON = 72 * 3600.0
QUEUES = {
    "claims": QueuePolicy(
        "claims", "bo", tiers=(Tier(70), Tier(40, 600.0), Tier(20, 3600.0)), mode=Mode.PULL, preferred_seconds=120.0
    ),
    "experts": QueuePolicy("experts", "bo", tiers=(Tier(0),), mode=Mode.PULL),
    "general": QueuePolicy("general", "bo"),  # push: never filed, never listed
}
AGENTS = ("ann", "ben")
ENQUEUED = [NOW - 7200.0, NOW - 900.0, NOW - 60.0, NOW, NOW - 900.0 + 1e-7]
NEEDS = [needs({"claims": 10}), needs({"claims": 60}), needs({"claims": 45, "fraud": 20}), needs({}), needs({"x": 1})]

_entry = st.fixed_dictionaries(
    {
        "queue": st.sampled_from(sorted(QUEUES)),
        "needs": st.sampled_from(NEEDS),
        "base": st.sampled_from([0, 100, 100, 500, 900]),
        "business_value": st.sampled_from([0.0, 0.0, 3.0, 1e-300, 123.456]),
        # around the urgent line (NOW - HORIZON .. NOW + HORIZON), past due, far away, none
        "due_at": st.one_of(
            st.none(),
            st.floats(-2 * HORIZON, 2 * HORIZON).map(lambda d: NOW + HORIZON + d),
            st.sampled_from([NOW + HORIZON, NOW + HORIZON + 1e-6, NOW - 3600.0, NOW + 3600.0]),
        ),
        "enqueued_at": st.sampled_from(ENQUEUED),
        "preferred": st.sampled_from([(), (), ("ann",), ("ben", "ann"), ("zed",)]),
        "parked_for": st.sampled_from([None, None, None, "ann", "ben"]),
        "after_work_until": st.sampled_from([None, None, None, None, NOW + 30.0]),
        "held": st.sampled_from([False, False, False, True]),
        "held_indexed": st.booleans(),  # a held task's members may still be there (the router files it out later)
        "stale": st.one_of(st.none(), st.sampled_from(["queue", "base", "enqueued_at", "needs", "due_at", "parked"])),
    }
)


def _random_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Many entries at once (hypothesis draws long lists slowly), from the same choices as `_entry`."""
    dues = [None, NOW + HORIZON, NOW + HORIZON + 1e-6, NOW - 3600.0, NOW + 3600.0]
    return [
        {
            "queue": rng.choice(sorted(QUEUES)),
            "needs": rng.choice(NEEDS),
            "base": rng.choice([0, 100, 100, 500, 900]),
            "business_value": rng.choice([0.0, 0.0, 3.0, 1e-300, 123.456]),
            "due_at": rng.choice([*dues, NOW + HORIZON + rng.uniform(-2 * HORIZON, 2 * HORIZON)]),
            "enqueued_at": rng.choice(ENQUEUED),
            "preferred": rng.choice([(), (), ("ann",), ("ben", "ann"), ("zed",)]),
            "parked_for": rng.choice([None, None, None, "ann", "ben"]),
            "after_work_until": rng.choice([None, None, None, None, NOW + 30.0]),
            "held": rng.random() < 0.25,
            "held_indexed": rng.random() < 0.5,
            "stale": rng.choice([None, None, "queue", "base", "enqueued_at", "needs", "due_at", "parked"]),
        }
        for _ in range(n)
    ]


# short lists shrink well; long ones make the walk read more than one page
_entries = st.one_of(st.lists(_entry, max_size=12), st.builds(_random_rows, st.randoms(), st.integers(13, 200)))
_profile = st.builds(
    lambda claims, fraud, queues: AgentProfile(
        "ann", {k: v for k, v in {"claims": claims, "fraud": fraud}.items() if v is not None}, frozenset(queues)
    ),
    st.sampled_from([None, 15, 45, 65, 80]),
    st.sampled_from([None, 10, 30]),
    st.sets(st.sampled_from(sorted(QUEUES)), min_size=1),
)


def build(rows: list[dict[str, Any]]) -> tuple[list[QueueEntry], set[str], dict[IndexKey, dict[str, float]]]:
    """The entries, the held task ids, and the indexes as Redis would hold them."""
    entries: list[QueueEntry] = []
    held: set[str] = set()
    index: dict[IndexKey, dict[str, float]] = {}
    for seq, row in enumerate(rows, start=1):
        fields = {k: v for k, v in row.items() if k not in ("held", "held_indexed", "stale")}
        e = QueueEntry(task_id=f"t{seq:03d}", domain="bo", channel="workitem", seq=seq, **fields)
        entries.append(e)
        pull = QUEUES[e.queue].mode is Mode.PULL
        if row["held"]:
            held.add(e.task_id)
            pull = pull and row["held_indexed"]
        for key, score in placement(e, pull=pull):
            index.setdefault(key, {})[member(e)] = score
        if row["stale"] is not None:  # what an older version of the entry left behind
            old = _older(e, row["stale"])
            for key, score in placement(old, pull=True):
                index.setdefault(key, {})[member(old)] = score
    return entries, held, index


def _older(e: QueueEntry, what: str) -> QueueEntry:
    changes: dict[str, Any] = {
        "queue": {"queue": "experts" if e.queue == "claims" else "claims"},
        "base": {"base": 1000},
        "enqueued_at": {"enqueued_at": e.enqueued_at - 5000.0},
        "needs": {"needs": needs({"claims": 0})},
        "due_at": {"due_at": NOW - 100 * 3600.0},
        "parked": {"parked_for": None if e.parked_for else "ann"},
    }
    return dataclasses.replace(e, **changes[what])


def run(walk: PullWalk | ParkedWalk, rows: Mapping[str, QueueEntry], held: set[str], index: Any) -> list[str]:
    """The walk carried out on the indexes in memory (a Redis stand-in): its result's task ids."""
    ordered = {key: sorted(members.items(), key=lambda m: (m[1], m[0].encode())) for key, members in index.items()}
    step: Step | None
    while (step := walk.next_step()) is not None:
        if step.pages:
            walk.pages_read([ordered.get(p.key, [])[p.start : p.start + p.count] for p in step.pages])
        if step.entries:
            found = {t: (rows[t].to_json() if t in rows else None, t in held) for t in step.entries}
            walk.entries_read(found)
    return [e.task_id for e in walk.result()]


def waiting(entries: Sequence[QueueEntry], held: set[str]) -> list[QueueEntry]:
    """What the api used to keep of the full scan for workbins and get-next."""
    return [e for e in entries if e.task_id not in held and e.parked_for is None and e.after_work_until is None]


@settings(max_examples=120, deadline=None)
@given(
    _entries,
    _profile,
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
@given(_entries, st.integers(1, 8), st.sampled_from(AGENTS))
def test_personal_workbins_are_the_full_scan(rows: list[dict[str, Any]], limit: int, agent: str) -> None:
    entries, held, index = build(rows)
    parked = [e for e in entries if e.task_id not in held and e.after_work_until is None]
    theirs = [e.task_id for e in personal_workbin(agent, parked)[:limit]]
    assert run(ParkedWalk(agent, limit=limit), {e.task_id: e for e in entries}, held, index) == theirs


@settings(max_examples=80, deadline=None)
@given(_entries, _profile, st.integers(1, 8), st.integers(1, 30))
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
    met = read_member(member(e))
    for when in (now, now + abs(now) * 1e-9 + 1.0):
        urgency = urgency_now(when, policy)
        keys = [appearance_key(k.kind, score, met, urgency) for k, score in placement(e, pull=True, policy=policy)]
        assert min(keys) == (*order_key(e, when, policy), "t")


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
    novice = AgentProfile("ann", {"claims": 5}, frozenset({"claims"}))  # below every task's own minimum
    walk = PullWalk(novice, {"claims": QUEUES["claims"]}, NOW, limit=50, max_scan=500)
    assert run(walk, rows, set(), index) == []
    assert walk.truncated
    assert 500 <= walk.scanned < 500 + 2 * 1000
