"""Invariants checked on a recorded event log (pure): each returns the problems it found, [] when none.

The log is the list of envelopes seen on `wr.tasks` and `wr.agents`, once per event id, in the
order they were consumed; one task's events share a partition, so each task's history is in
topic order. A hold (an offer, a get-next claim, an assignment) begins with `task.offered` or
`task.accepted` and ends with a revoke, the completion (plus the after-work time its wrap-up
announced), a hand-back (`command.reclassify_task` for a transfer, `task.rescheduled`), a
withdrawal (cancelled, expired, paused), the router taking it from the agent (unassigned) or the task
waiting again (queued, parked).
router_world.py has simpler versions for the router alone; these know hand-backs and after-work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workrouter.contracts.envelope import Envelope

TERMINAL = ("completed", "cancelled", "expired")
HOLDS = ("offered", "accepted")
RELEASES = frozenset({"offer_revoked", "completed", "rescheduled", "reclassify_task", "cancelled", "expired"})
RELEASES |= {"paused", "queued", "parked", "unassigned"}
DROPS = frozenset({"reclassify_task", "rescheduled", "paused"})  # the router forgets the entry: a new wait clock


def kind(envelope: Envelope) -> str:
    """`workrouter.task.offered` -> `offered`."""
    return envelope.type.rsplit(".", 1)[-1]


def task_of(envelope: Envelope) -> str | None:
    """The task an event is about (None for agent events)."""
    task_id = getattr(envelope.data, "task_id", None)
    return task_id if isinstance(task_id, str) else None


def histories(events: list[Envelope]) -> dict[str, list[Envelope]]:
    """Each task's events in log order."""
    by_task: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in events:
        task_id = task_of(envelope)
        if task_id is not None:
            by_task[task_id].append(envelope)
    return by_task


def describe(history: list[Envelope], last: int = 12) -> str:
    """A task's last events, each with who did it: `accepted(b03,offer) completed(b03)`."""
    parts = []
    for envelope in history[-last:]:
        data = envelope.data
        who = [str(v) for f in ("agent_id", "by", "how", "queue") if (v := getattr(data, f, None))]
        parts.append(f"{kind(envelope)}({','.join(who)})@{envelope.time:%H:%M:%S.%f}"[:-3])
    return " ".join(parts)


def terminal_problems(events: list[Envelope], expected: Mapping[str, str]) -> list[str]:
    """Every expected task captured and ended exactly once, the way the test intended; no task it did not send."""
    problems: list[str] = []
    by_task = histories(events)
    for task_id, want in sorted(expected.items()):
        history = by_task.get(task_id, [])
        kinds = [kind(e) for e in history]
        ends = [k for k in kinds if k in TERMINAL]
        if "captured" not in kinds:
            problems.append(f"{task_id}: never captured (expected {want}); events: {kinds}")
        elif not ends:
            problems.append(f"{task_id}: not ended (expected {want}); last events: {describe(history)}")
        elif ends[0] != want or len(ends) > 1:
            problems.append(f"{task_id}: ended {ends} (expected {want} once): {describe(history)}")
    for task_id, history in sorted(by_task.items()):
        if task_id not in expected and any(kind(e) == "captured" for e in history):
            problems.append(f"{task_id}: captured but never sent by the test")
    return problems


def overlapping_holds(events: list[Envelope]) -> list[str]:
    """Tasks offered or given to a second agent while a first still held them (per task, in log order)."""
    problems: list[str] = []
    holder: dict[str, str] = {}
    for envelope in events:
        task_id, k = task_of(envelope), kind(envelope)
        if task_id is None:
            continue
        if k in HOLDS:
            agent: str = envelope.data.agent_id  # type: ignore[attr-defined]
            current = holder.get(task_id)
            if current is not None and current != agent:
                problems.append(f"{task_id}: {k} to {agent} at {envelope.time:%H:%M:%S.%f} while {current} held it")
            holder[task_id] = agent
        elif k in RELEASES:
            holder.pop(task_id, None)
    return problems


@dataclass(frozen=True)
class Hold:
    """One agent holding one task from `start` to `end` (epoch seconds; None: still held)."""

    agent: str
    task_id: str
    start: float
    end: float | None


def holds(events: list[Envelope]) -> list[Hold]:
    """Every hold of the log; a completion ends its hold when the after-work time of its wrap-up ends."""
    out: list[Hold] = []
    open_: dict[str, tuple[str, float]] = {}
    after_work: dict[str, float] = {}
    for envelope in events:
        task_id, k, t = task_of(envelope), kind(envelope), envelope.time.timestamp()
        if task_id is None:
            continue
        current = open_.get(task_id)
        if k in HOLDS:
            agent: str = envelope.data.agent_id  # type: ignore[attr-defined]
            if current is not None and current[0] == agent:
                continue
            if current is not None:
                out.append(Hold(current[0], task_id, current[1], t))
            open_[task_id] = (agent, t)
        elif k == "wrap_up_started":
            after_work[task_id] = t + envelope.data.after_work_seconds  # type: ignore[attr-defined]
        elif k in RELEASES:
            wrapped = after_work.pop(task_id, None)
            if current is not None:
                end = wrapped if k == "completed" and wrapped is not None else t
                out.append(Hold(current[0], task_id, current[1], max(end, t)))
                del open_[task_id]
    out += [Hold(agent, task_id, start, None) for task_id, (agent, start) in open_.items()]
    return out


def capacity_breaches(events: list[Envelope], capacity: Mapping[str, int], slack: float = 0.05) -> list[str]:
    """Every moment an agent held more tasks than its capacity.

    A release counts `slack` seconds early: an api claim is stamped with the api's clock just before its
    atomic reservation, a release with the router's clock just before its own, so two processes' stamps
    may disagree by a few milliseconds about an order Redis decided. A real overfill lasts a handle time.
    """
    problems: list[str] = []
    by_agent: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for hold in holds(events):
        if hold.end is not None and hold.end - slack <= hold.start:
            continue  # shorter than the slack: counted as nothing (its release mark would sort before its start)
        by_agent[hold.agent].append((hold.start, 1, hold.task_id))
        if hold.end is not None:
            by_agent[hold.agent].append((hold.end - slack, 0, hold.task_id))
    by_task = histories(events)
    for agent, marks in sorted(by_agent.items()):
        held: dict[str, float] = {}  # task -> since when
        limit = capacity.get(agent, 0)
        oldest: str | None = None
        for t, starts, task_id in sorted(marks):
            if not starts:
                held.pop(task_id, None)
                continue
            held[task_id] = t
            if len(held) > limit:
                problems.append(f"{agent} held {len(held)} > {limit} at {t:.3f}: {sorted(held)}")
                oldest = oldest or min(held, key=held.__getitem__)
        if oldest is not None:  # what the first breach's longest hold went through
            problems.append(f"{agent}: the longest held, {oldest}: {describe(by_task[oldest], last=20)}")
    return problems


def dangling_holds(events: list[Envelope]) -> list[str]:
    """Holds that no event of the log ever ended, with the task's history: the log says the agent still has it."""
    by_task = histories(events)
    return [
        f"{h.task_id}: held by {h.agent} since {h.start:.3f} and never released: {describe(by_task[h.task_id])}"
        for h in holds(events)
        if h.end is None
    ]


def tier_violations(
    events: list[Envelope],
    tiers: Mapping[str, list[tuple[int, float]]],
    skills: Mapping[str, Mapping[str, int]],
    slack: float = 0.05,
) -> list[str]:
    """Offers from a tier the task had not reached, and offers or claims to an agent below the tier's level.

    A task's wait clock in a queue starts with its first classification into it and survives re-filing;
    a hand-back or a reschedule starts it again (the router drops its entry). Only the router's own offers
    and auto-answers are timed: a claim is stamped with the api's clock, not the router's.
    """
    problems: list[str] = []
    clocks: dict[str, dict[str, float]] = defaultdict(dict)
    needs: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    last_queue: dict[str, str | None] = {}
    for envelope in events:
        task_id, k, data = task_of(envelope), kind(envelope), envelope.data
        if task_id is None:
            continue
        if k == "classified":
            queue: str = data.queue  # type: ignore[attr-defined]
            if last_queue.get(task_id) != queue or queue not in clocks[task_id]:
                clocks[task_id][queue] = envelope.time.timestamp()
            needs[task_id][queue] = {s.skill: s.min_level for s in data.skills}  # type: ignore[attr-defined]
            last_queue[task_id] = queue
        elif k in DROPS:
            clocks[task_id].clear()
            last_queue[task_id] = None
        elif k == "offered" or (k == "accepted" and getattr(data, "how", "") in ("pull", "auto_answer")):
            problem = _tier_problem(envelope, clocks[task_id], needs[task_id], tiers=tiers, skills=skills, slack=slack)
            if problem:
                problems.append(f"{task_id}: {problem}")
    return problems


def _tier_problem(
    envelope: Envelope,
    clocks: Mapping[str, float],
    needs: Mapping[str, Mapping[str, int]],
    *,
    tiers: Mapping[str, list[tuple[int, float]]],
    skills: Mapping[str, Mapping[str, int]],
    slack: float,
) -> str | None:
    data: Any = envelope.data
    queue, tier, agent = data.queue, data.tier, data.agent_id
    if queue not in clocks:
        return f"{kind(envelope)} from {queue}, which it was never classified into"
    if tier < 0 or tier >= len(tiers[queue]):
        return f"{kind(envelope)} from tier {tier} of {queue}, which has {len(tiers[queue])} tiers"
    floor, after = tiers[queue][tier]
    waited = envelope.time.timestamp() - clocks[queue]
    if data.how in ("offer", "auto_answer") and waited < after - slack:
        return f"{kind(envelope)} to {agent} from tier {tier} of {queue} after {waited:.3f} s (it opens at {after} s)"
    have = skills.get(agent, {})
    short = {s: m for s, m in needs[queue].items() if have.get(s, -1) < max(m, floor)}
    if short:
        return f"{kind(envelope)} to {agent} from tier {tier} of {queue} without {short} (tier level {floor})"
    return None
