"""The engine's per-queue tallies against a walk over every task, after every step (hypothesis stateful testing).

Random operations on one engine — enqueue, re-queue into another queue, presence, offers accepted
and rejected, RONA and claim timeouts as time passes (across tiers, the preferred-agent phase and the
urgent band), completion with and without after-work, withdrawal, park, claim, get-next,
force-assign, adoption of holds Redis reports, refused reservations — and after each one the tallies
must equal a recount from `engine.tasks` (tests/support/metrics_walk.py, the collector's walk before
the tallies): waiting by band and held by state exactly; the oldest wait and the late counts exactly as
the walk finds them with each wait clock taken from the start of its second (the tallies' resolution),
and within that second of the walk on the clocks themselves, at several instants and thresholds,
fractional ones included; and the second index must count exactly the waiting tasks.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.support import engine_pull as pull
from tests.support.metrics_walk import Recount, recount
from workrouter.domain.routing import adopt
from workrouter.domain.routing import pull as supervise
from workrouter.domain.routing.actions import RoutingError, TaskSpec
from workrouter.domain.routing.buckets import Waiting
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import AgentProfile, Mode, Presence, QueuePolicy, Tier, needs
from workrouter.domain.routing.tally import HELD, QueueTally

T0 = 1_800_000_000.0
AGENTS = ("x", "y", "z")
QUEUES = ("mail", "chat", "bin")
THRESHOLDS = (0, 0.25, 1, 1.5, 2, 10, 20, 29.5, 30, 60, 300, 86_400)
# how long ago a task started waiting: whole and fractional seconds, a shared second, a day, the future (clock skew)
WAITED = (0.0, 0.0, 0.25, 0.5, 0.999, 1.0, 1.5, 19.75, 20.0, 29.999, 61.3, 300.0, 86_400.5, -0.4, -2.5)


def spec_of(
    task_id: str, queue: str, at: float, *, level: int = 0, due: float | None = None, preferred: tuple[str, ...] = ()
) -> TaskSpec:
    return TaskSpec(task_id, queue, needs({"s": level}), 100, 0.0, due, at, preferred)


class TallyMachine(RuleBasedStateMachine):
    """One engine driven at random; its tallies checked against a full recount after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0 + 0.125
        self.engine = Engine({})
        self.next_task = 0

    @initialize(
        after_work=st.sampled_from([0.0, 15.0]),
        skills=st.lists(st.sampled_from([10, 50, 90]), min_size=len(AGENTS), max_size=len(AGENTS)),
    )
    def setup(self, after_work: float, skills: list[int]) -> None:
        tiers = (Tier(70), Tier(40, 30.0), Tier(0, 90.0))
        self.engine = Engine(
            {
                "mail": QueuePolicy(
                    "mail",
                    "d",
                    tiers=tiers,
                    preferred_seconds=20.0,
                    after_work_seconds=after_work,
                    offer_timeout_seconds=15.0,
                ),
                "chat": QueuePolicy("chat", "d", "chat", tiers=(Tier(40), Tier(0, 45.0)), offer_timeout_seconds=10.0),
                "bin": QueuePolicy(
                    "bin", "d", tiers=(Tier(60), Tier(0, 40.0)), mode=Mode.PULL, claim_timeout_seconds=25.0
                ),
            }
        )
        for agent_id, level in zip(AGENTS, skills, strict=True):
            profile = AgentProfile(agent_id, {"s": level}, frozenset(QUEUES), {"workitem": 2, "chat": 1})
            self.engine.put_agent(profile, self.now)
            self.engine.set_presence(agent_id, Presence.READY, None, self.now)

    def task_ids(self) -> list[str]:
        return sorted(self.engine.tasks)

    def pick(self, data: st.DataObject) -> Waiting | None:
        ids = self.task_ids()
        return self.engine.tasks[data.draw(st.sampled_from(ids))] if ids else None

    # ---------------------------------------------------------------- rules

    @rule(
        queue=st.sampled_from(QUEUES),
        level=st.sampled_from([0, 45, 80]),
        due_hours=st.none() | st.sampled_from([-1.0, 71.99, 72.0 + 1 / 3600, 200.0]),
        waited=st.sampled_from(WAITED),
        preferred=st.lists(st.sampled_from(AGENTS), max_size=2, unique=True),
    )
    def enqueue(self, queue: str, level: int, due_hours: float | None, waited: float, preferred: list[str]) -> None:
        self.next_task += 1
        due = None if due_hours is None else self.now + due_hours * 3600.0
        spec = spec_of(f"t{self.next_task}", queue, self.now - waited, level=level, due=due, preferred=tuple(preferred))
        self.engine.enqueue(spec, self.now)

    @rule(data=st.data(), queue=st.sampled_from(QUEUES), keep_clock=st.booleans(), urgent=st.booleans())
    def requeue(self, data: st.DataObject, queue: str, keep_clock: bool, urgent: bool) -> None:
        """Reclassified (perhaps into another queue, perhaps with a new wait clock): re-filed if it waits."""
        task = self.pick(data)
        if task is None:
            return
        at = task.enqueued_at if keep_clock else self.now - data.draw(st.sampled_from(WAITED))
        due = self.now + 3600.0 if urgent else None
        with contextlib.suppress(RoutingError):  # a timer due first may have moved it
            self.engine.enqueue(spec_of(task.task_id, queue, at, due=due), self.now)

    @rule(agent_id=st.sampled_from(AGENTS), presence=st.sampled_from(list(Presence)))
    def presence(self, agent_id: str, presence: Presence) -> None:
        self.engine.set_presence(agent_id, presence, None, self.now)

    @rule(data=st.data(), accept=st.booleans())
    def answer(self, data: st.DataObject, accept: bool) -> None:
        task = self.pick(data)
        if task is None or task.agent_id is None:
            return
        answer = self.engine.accept if accept else self.engine.reject
        with contextlib.suppress(RoutingError):  # a timer due first may have moved it
            answer(task.task_id, task.agent_id, self.now)

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        task = self.pick(data)
        if task is None or task.agent_id is None:
            return
        with contextlib.suppress(RoutingError):  # a timer due first may have moved it
            self.engine.complete(task.task_id, task.agent_id, self.now)

    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        task = self.pick(data)
        if task is not None:
            self.engine.withdraw(task.task_id, self.now)

    @rule(data=st.data(), agent_id=st.sampled_from(AGENTS))
    def park(self, data: st.DataObject, agent_id: str) -> None:
        task = self.pick(data)
        if task is not None:
            with contextlib.suppress(RoutingError):  # a timer due first may have moved it
                pull.park(self.engine, task.task_id, agent_id, self.now)

    @rule(data=st.data(), agent_id=st.sampled_from(AGENTS))
    def claim(self, data: st.DataObject, agent_id: str) -> None:
        task = self.pick(data)
        if task is not None:
            with contextlib.suppress(RoutingError):
                pull.claim(self.engine, task.task_id, agent_id, self.now)

    @rule(agent_id=st.sampled_from(AGENTS))
    def get_next(self, agent_id: str) -> None:
        with contextlib.suppress(RoutingError):
            pull.get_next(self.engine, agent_id, self.now)

    @rule(data=st.data(), agent_id=st.sampled_from(AGENTS))
    def force_assign(self, data: st.DataObject, agent_id: str) -> None:
        task = self.pick(data)
        if task is not None:
            with contextlib.suppress(RoutingError):
                pull.force_assign(self.engine, task.task_id, agent_id, self.now)

    @rule(data=st.data())
    def take_back(self, data: st.DataObject) -> None:
        """A supervisor takes a held task back to its queue."""
        task = self.pick(data)
        if task is not None:
            with contextlib.suppress(RoutingError):  # not held (or a timer due first moved it)
                supervise.take_back(self.engine, task.task_id, self.now)

    @rule(data=st.data(), agent_id=st.sampled_from(AGENTS))
    def reassign(self, data: st.DataObject, agent_id: str) -> None:
        """A supervisor gives a held task to another agent."""
        task = self.pick(data)
        if task is not None:
            with contextlib.suppress(RoutingError):
                supervise.reassign(self.engine, task.task_id, agent_id, self.now)

    @rule(
        data=st.data(),
        known=st.booleans(),
        agent_id=st.sampled_from(AGENTS),
        state=st.sampled_from(["offered", "claimed", "assigned"]),
        ago=st.sampled_from([0.0, 3.5, 40.0]),
    )
    def adopt(self, data: st.DataObject, known: bool, agent_id: str, state: str, ago: float) -> None:
        """Redis says the agent holds the task (a failover rebuild, an api claim that won a race)."""
        task = self.pick(data) if known else None
        if task is None:
            self.next_task += 1
            spec = spec_of(f"t{self.next_task}", data.draw(st.sampled_from(QUEUES)), self.now - 7.5)
        else:
            spec = spec_of(task.task_id, task.queue, task.enqueued_at)
        adopt.adopt(self.engine, spec, agent_id, state, since=self.now - ago, now=self.now)  # type: ignore[arg-type]

    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        task = self.pick(data)
        if task is not None and task.agent_id is not None:
            with contextlib.suppress(RoutingError):  # a timer due first may have moved it
                adopt.start(self.engine, task.task_id, task.agent_id, self.now)

    @rule(data=st.data())
    def refused(self, data: st.DataObject) -> None:
        """Redis refused the reservation of a proposed offer."""
        task = self.pick(data)
        if task is not None and task.agent_id is not None:
            self.engine.refused(task.task_id, task.agent_id, self.now)

    @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 3.7, 10.0, 15.0, 20.5, 30.0, 61.0, 300.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds
        self.engine.advance(self.now)

    # ----------------------------------------------------------- invariants

    @invariant()
    def tallies_equal_a_recount(self) -> None:
        engine = self.engine
        found = recount(engine, engine.queues)
        by_second = Recount(
            found.waiting, found.held, {q: [math.floor(at) for at in s] for q, s in found.since.items()}
        )
        assert all(task.state for task in engine.tasks.values()), "a task in the engine with no state"
        for state in {task.state for task in engine.tasks.values()}:
            event(f"a task {state}")
        if any(task.is_urgent and task.state == "waiting" for task in engine.tasks.values()):
            event("a task waiting in the urgent band")
        for queue in engine.queues:
            tally = engine.tally.queues[queue]
            assert (tally.static, tally.urgent) == (found.waiting[(queue, "static")], found.waiting[(queue, "urgent")])
            assert tally.held == {state: found.held[(queue, state)] for state in HELD}, queue
            assert_index(tally, found.since[queue])
            for now in (self.now, self.now + 0.5, self.now + 7.25, self.now - 3.0):
                oldest, late = tally.oldest_wait(now), tally.late(now, THRESHOLDS)
                assert oldest == by_second.oldest_wait(queue, now), (queue, now)
                assert late == by_second.late(queue, now, THRESHOLDS), (queue, now)
                exact = found.oldest_wait(queue, now)
                assert exact <= oldest < exact + 1 if found.since[queue] else oldest == 0.0
                # a clock taken a second early: late by each threshold, and not by one less
                assert found.late(queue, now, THRESHOLDS) <= late, (queue, now)
                short = found.late(queue, now, [t - 1 for t in THRESHOLDS])
                assert all(mine <= theirs for mine, theirs in zip(late, short, strict=True)), (queue, now)


def assert_index(tally: QueueTally, since: list[float]) -> None:
    """The second index counts exactly the waiting tasks, each in the second of its clock; the heap's top
    is the oldest second and the newest bound is not below the newest."""
    by_second = Counter(math.floor(at) for at in since)
    assert tally.seconds == by_second
    assert tally.oldest[0] == min(by_second) if by_second else True
    assert tally.newest >= max(by_second, default=tally.newest)


TallyMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestTallies = TallyMachine.TestCase


def test_oldest_wait_and_late_counts_of_a_known_queue() -> None:
    """Ten tasks a second for 100 s: whole-second waits at a whole instant, a fractional one, and one late."""
    engine = Engine({"q": QueuePolicy("q", "d")})
    for n in range(1000):
        engine.enqueue(spec_of(f"t{n}", "q", T0 + n / 10), T0 + 100)
    tally = engine.tally.queues["q"]
    assert len(tally.seconds) == 100
    assert tally.oldest_wait(T0 + 100) == 100.0
    assert tally.late(T0 + 100, (20, 60, 300)) == [800, 400, 0]
    # at T0 + 100.05 the ten tasks of second T0 + 80 count as 20.05 s waited (the walk on the clocks: only T0 + 80.0)
    assert tally.late(T0 + 100.05, (20,)) == [810]


def test_a_task_leaves_the_tally_when_it_leaves_the_engine() -> None:
    engine = Engine({"q": QueuePolicy("q", "d")})
    engine.put_agent(AgentProfile("a", {"s": 90}, frozenset({"q"})), T0)
    engine.enqueue(spec_of("t1", "q", T0), T0)
    engine.enqueue(spec_of("t2", "q", T0), T0)
    engine.set_presence("a", Presence.READY, None, T0)  # t1 offered
    tally = engine.tally.queues["q"]
    assert (tally.waiting, tally.held["offered"]) == (1, 1)
    engine.withdraw("t1", T0 + 1)  # a freed agent: t2 offered
    engine.accept("t2", "a", T0 + 1)
    engine.complete("t2", "a", T0 + 2)
    assert (tally.waiting, tally.held, tally.seconds) == (0, dict.fromkeys(HELD, 0), {})
    assert tally.late(T0 + 9, (1,)) == [0]
    with pytest.raises(RoutingError):
        engine.complete("t2", "a", T0 + 3)
