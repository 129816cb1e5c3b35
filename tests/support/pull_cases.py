"""Cases for the pull index tests: queue entries around the urgent line, with ties, holds, parks, after-work
and members an older version of an entry left behind; the indexes as the router files them."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Mode, QueuePolicy, Tier, needs
from workrouter.domain.routing.pull_index import IndexKey, member, placement

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

entry_case = st.fixed_dictionaries(
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


def random_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
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
entries_case = st.one_of(st.lists(entry_case, max_size=12), st.builds(random_rows, st.randoms(), st.integers(13, 200)))
profile_case = st.builds(
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


def waiting(entries: Sequence[QueueEntry], held: set[str]) -> list[QueueEntry]:
    """What the api used to keep of the full scan for workbins and get-next."""
    return [e for e in entries if e.task_id not in held and e.parked_for is None and e.after_work_until is None]
