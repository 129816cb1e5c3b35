"""The engine's indexes against looking at everything (hypothesis).

- `best_push_task` walks each queue's bucket heads in order and stops early; it must choose exactly the
  task a look at every eligible bucket (`best_task_for`) chooses, and that task must rank first among
  all waiting tasks the agent may take (brute force over the tasks themselves);
- `Timers` files timers by second; it must give them back in the order a heap of (when, seq) does.
"""

from __future__ import annotations

import heapq
import math
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from workrouter.domain.priority import priority_at
from workrouter.domain.routing.actions import TaskSpec
from workrouter.domain.routing.buckets import Waiting
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy, Tier, can_serve, needs
from workrouter.domain.routing.timers import Timer, Timers

T0 = 1_800_000_000.0
SKILLS = ("a", "b", "c")
QUEUES = ("q1", "q2", "q3")


def _engine() -> Engine:
    tiers = (Tier(70), Tier(40, 30.0), Tier(0, 90.0))
    return Engine(
        {
            "q1": QueuePolicy("q1", "d", tiers=tiers, preferred_seconds=20.0),
            "q2": QueuePolicy("q2", "d", "chat", tiers=(Tier(50), Tier(0, 60.0))),
            "q3": QueuePolicy("q3", "d", tiers=tiers),
        }
    )


agents = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([0, 30, 45, 60, 80, 100]), min_size=1),
        st.sets(st.sampled_from(QUEUES), min_size=1),
        st.integers(0, 2),  # workitems already held
    ),
    min_size=1,
    max_size=5,
)
tasks = st.lists(
    st.tuples(
        st.sampled_from(QUEUES),
        st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([0, 40, 75]), max_size=2),
        st.sampled_from([100, 500, 500, 900]),  # ties on purpose
        st.sampled_from([0.0, 0.0, 3.0]),
        st.none() | st.sampled_from([-2.0, 1.0, 30.0, 71.5, 100.0]),  # due in hours; most inside the urgent band
        st.sampled_from([0.0, 0.0, 10.0, 40.0, 100.0]),  # waited
        st.lists(st.sampled_from(["a0", "a1", "a2"]), max_size=1),
        st.booleans(),  # withdrawn again before the look
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(agent_specs=agents, task_specs=tasks, later=st.sampled_from([0.0, 5.0, 25.0, 35.0, 95.0, 3600.0]))
def test_the_walk_chooses_what_a_look_at_every_bucket_and_at_every_task_chooses(
    agent_specs: list[tuple[dict[str, int], set[str], int]],
    task_specs: list[tuple[str, dict[str, int], int, float, float | None, float, list[str], bool]],
    later: float,
) -> None:
    engine = _engine()
    specs: dict[str, TaskSpec] = {}
    profiles = []
    for i, (skills, queues, held) in enumerate(agent_specs):
        profile = AgentProfile(f"a{i}", skills, frozenset(queues), {"workitem": 2, "chat": 1})
        profiles.append(profile)
        engine.put_agent(profile, T0)  # offline: nothing is offered while the state is built
        engine.agents[profile.agent_id].load["workitem"] = held
    for n, (queue, skill_needs, base, value, due_hours, waited, preferred, withdrawn) in enumerate(task_specs):
        due = None if due_hours is None else T0 + due_hours * 3600.0
        spec = TaskSpec(f"t{n}", queue, needs(skill_needs), base, value, due, T0 - waited, tuple(preferred))
        engine.enqueue(spec, T0)
        specs[spec.task_id] = spec
        if withdrawn:
            engine.withdraw(spec.task_id, T0)
    now = T0 + later
    engine.advance(now)  # tiers widen, tasks turn urgent, preferred phases end
    for profile in profiles:
        agent = engine.agents[profile.agent_id]
        agent.presence = Presence.READY  # ready for the look only: no call that would route
        walked = engine.best_push_task(agent, now)
        scanned = engine.best_task_for(agent, now, engine._agent_buckets(agent))
        assert walked is scanned, (profile.agent_id, walked, scanned)
        takeable = [t for t in engine.tasks.values() if _may_take(engine, profile, agent.load, t, now)]
        if walked is None:
            assert not takeable, (profile.agent_id, [t.task_id for t in takeable])
            continue
        best = min(_rank(specs[t.task_id], t.seq, now) for t in takeable)
        mine = _rank(specs[walked.task_id], walked.seq, now)
        assert math.isclose(mine[0], best[0], abs_tol=1e-6), (mine, best)
        if mine[0] != best[0]:
            continue  # equal up to rounding: the heaps' order decides, as the scan's does
        assert mine[1:] == best[1:], (mine, best)


def _may_take(engine: Engine, profile: AgentProfile, load: dict[str, int], task: Waiting, now: float) -> bool:
    policy = engine.queues[task.queue]
    if task.state != "waiting" or policy.mode is not Mode.PUSH:
        return False
    if load.get(task.channel, 0) >= profile.capacity.get(task.channel, 0):
        return False
    if task.tier == -1:
        return profile.agent_id in task.preferred and can_serve(profile, task.needs, Tier(0))
    return task.queue in profile.queues and can_serve(profile, task.needs, policy.tiers[task.tier])


def _rank(spec: TaskSpec, seq: int, now: float) -> tuple[float, float, int]:
    """Priority now (computed from the spec, not the engine's scores), then age, then arrival."""
    due = None if spec.due_at is None else datetime.fromtimestamp(spec.due_at, UTC)
    at = datetime.fromtimestamp(now, UTC)
    return (-priority_at(spec.base, spec.business_value, due, at), spec.enqueued_at, seq)


timers = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.sampled_from([-1.5, -0.5, 0.0, 0.25, 0.5, 1.0, 1.999, 2.0, 7.5, math.inf])),
        st.tuples(st.just("fire"), st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 10.0, math.inf])),
    ),
    max_size=60,
)


@settings(max_examples=500, deadline=None)
@given(steps=timers)
def test_timers_come_back_in_the_order_of_a_heap(steps: list[tuple[str, float]]) -> None:
    wheel, heap = Timers(), list[Timer]()
    seq = 0
    for op, t in steps:
        if op == "push":
            seq += 1
            timer: Timer = (t, seq, 0, f"k{seq}", seq)
            wheel.push(timer)
            heapq.heappush(heap, timer)
        else:
            fired = []
            while (first := wheel.first()) is not None and first[0] <= t:
                fired.append(wheel.pop())
            expected = []
            while heap and heap[0][0] <= t:
                expected.append(heapq.heappop(heap))
            assert fired == expected
        assert len(wheel) == len(heap)
        first = wheel.first()
        assert (first[0] if first else None) == (heap[0][0] if heap else None)
    assert sorted(wheel) == sorted(heap)
