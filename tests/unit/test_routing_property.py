"""The matching engine against a brute-force reference (hypothesis stateful testing).

The reference keeps its own picture of the world, built only from what the test did and what the
engine announced (offers, revokes, RONA, freed capacity), and checks every announced offer at the
moment it was made by looking at *every* task and *every* agent:

- never double offer: the task was not held by anyone;
- never over capacity: the agent had room on the channel, blending included;
- never outside the tier: the agent qualified for the tier the task had reached (or was preferred);
- priority, then age: no waiting task the agent qualified for ranked higher;
- strategy: no other free agent that qualified for the task ranked better under the queue's strategy;
and after every step, that no ready agent with room is left idle beside a task it could take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.support import engine_pull as pull
from workrouter.domain.priority import priority_at
from workrouter.domain.routing.actions import Action, AgentPaused, CapacityFreed, Offer, Revoke, RoutingError, TaskSpec
from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import (
    AgentProfile,
    Mode,
    Presence,
    QueuePolicy,
    SkillNeeds,
    Strategy,
    Tier,
    needs,
)

T0 = 1_800_000_000.0
EPS = 1e-6
SKILLS = ("a", "b")
AGENTS = ("x", "y", "z", "w")


@dataclass
class RefTask:
    spec: TaskSpec
    seq: int
    channel: str
    holder: str | None = None
    state: str = "waiting"
    since: float = 0.0  # when the current offer or claim was made


@dataclass
class RefAgent:
    profile: AgentProfile
    presence: Presence = Presence.OFFLINE
    load: dict[str, int] = field(default_factory=dict)
    idle_since: float = 0.0
    last_offered_at: float = float("-inf")
    effort: list[tuple[float, float]] = field(default_factory=list)
    assigned_at: dict[str, float] = field(default_factory=dict)


def can_serve(profile: AgentProfile, skill_needs: SkillNeeds, tier: Tier) -> bool:
    """Reference: every needed skill at the task's level and at the tier's level."""
    return all(
        skill in profile.skills and profile.skills[skill] >= level and profile.skills[skill] >= tier.min_level
        for skill, level in skill_needs
    )


def channel_free(profile: AgentProfile, load: dict[str, int], channel: str) -> bool:
    """Reference: room on the channel; an exclusive channel only alone, and nothing beside it."""
    held = {ch for ch, n in load.items() if n > 0}
    if load.get(channel, 0) >= profile.capacity.get(channel, 0):
        return False
    if channel in profile.exclusive_channels:
        return held <= {channel}
    return not (held & profile.exclusive_channels)


class MatchingMachine(RuleBasedStateMachine):
    """Random operations on one engine, every offer checked against the brute-force reference."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.tasks: dict[str, RefTask] = {}
        self.agents: dict[str, RefAgent] = {}
        self.next_task = 0
        self.queues: dict[str, QueuePolicy] = {}
        self.engine = Engine({})
        self.after_work_channel: dict[tuple[str, str], str] = {}

    @initialize(
        strategies=st.tuples(st.sampled_from(list(Strategy)), st.sampled_from(list(Strategy))),
        preferred=st.sampled_from([0.0, 30.0]),
        after_work=st.sampled_from([0.0, 20.0]),
        profiles=st.lists(
            st.tuples(
                st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([10, 40, 70, 90]), min_size=1, max_size=2),
                st.sets(st.sampled_from(["mail", "chat", "bin"]), min_size=1),
                st.integers(1, 3),
                st.booleans(),
            ),
            min_size=len(AGENTS),
            max_size=len(AGENTS),
        ),
    )
    def setup(
        self,
        strategies: tuple[Strategy, Strategy],
        preferred: float,
        after_work: float,
        profiles: list[tuple[dict[str, int], set[str], int, bool]],
    ) -> None:
        tiers = (Tier(70), Tier(40, 30.0), Tier(0, 90.0))
        self.queues = {
            "mail": QueuePolicy(
                "mail",
                "d",
                "workitem",
                strategies[0],
                tiers,
                preferred_seconds=preferred,
                after_work_seconds=after_work,
            ),
            "chat": QueuePolicy(
                "chat", "d", "chat", strategies[1], (Tier(40), Tier(0, 60.0)), offer_timeout_seconds=15
            ),
            "bin": QueuePolicy("bin", "d", tiers=(Tier(60), Tier(0, 45.0)), mode=Mode.PULL, claim_timeout_seconds=40),
        }
        self.engine = Engine(self.queues)
        for agent_id, (skills, queues, workitems, auto) in zip(AGENTS, profiles, strict=True):
            profile = AgentProfile(
                agent_id,
                skills,
                frozenset(queues),
                {"workitem": workitems, "chat": 1},
                exclusive_channels=frozenset({"chat"}),
                auto_answer=auto and agent_id == "w",
            )
            self.agents[agent_id] = RefAgent(profile, idle_since=self.now)
            self.apply(self.engine.put_agent(profile, self.now))
            self.presence(agent_id, Presence.READY)

    # ------------------------------------------------------------ reference

    def start_of(self, t: RefTask) -> float:
        q = self.queues[t.spec.queue]
        return t.spec.enqueued_at + (q.preferred_seconds if t.spec.preferred else 0.0)

    def boundaries(self, t: RefTask) -> set[float]:
        """The instants at which the task's tier (or preferred phase) changes."""
        start = self.start_of(t)
        return {start, *(start + tier.after_seconds for tier in self.queues[t.spec.queue].tiers)}

    def qualifies(self, agent: RefAgent, t: RefTask, at: float) -> bool:
        q = self.queues[t.spec.queue]
        start = self.start_of(t)
        if at < start:
            return agent.profile.agent_id in t.spec.preferred and can_serve(agent.profile, t.spec.needs, Tier(0))
        tier = max(i for i, tr in enumerate(q.tiers) if at >= start + tr.after_seconds)
        return t.spec.queue in agent.profile.queues and can_serve(agent.profile, t.spec.needs, q.tiers[tier])

    def rank(self, t: RefTask, at: float) -> tuple[float, float, int]:
        s = t.spec
        return (-priority_at(s.base, s.business_value, _dt(s.due_at), _utc(at)), s.enqueued_at, t.seq)

    def free(self, agent: RefAgent, channel: str) -> bool:
        return agent.presence is Presence.READY and channel_free(agent.profile, agent.load, channel)

    def strategy_rank(self, agent: RefAgent, t: RefTask, at: float) -> tuple[float, float, str]:
        q = self.queues[t.spec.queue]
        p = agent.profile
        match q.strategy:
            case Strategy.LEAST_OCCUPIED:
                first = agent.load.get(t.channel, 0) / p.capacity[t.channel]
            case Strategy.MOST_SKILLED:
                first = -float(sum(p.skills.get(s, 0) for s, _ in t.spec.needs))
            case Strategy.ROUND_ROBIN:
                return (agent.last_offered_at, agent.idle_since, p.agent_id)
            case Strategy.BALANCED_EFFORT:
                first = sum(sec for end, sec in agent.effort if end >= at - q.effort_window_seconds)
            case _:
                first = 0.0
        return (first, agent.idle_since, p.agent_id)

    def check_offer(self, offer: Offer) -> None:
        t, agent, at = self.tasks[offer.task_id], self.agents[offer.agent_id], offer.at
        assert t.holder is None, f"double offer of {offer.task_id} (held by {t.holder})"
        assert t.state == "waiting", f"offer of {offer.task_id} which is {t.state}"
        assert agent.presence is Presence.READY, f"offer to {offer.agent_id} who is {agent.presence}"
        assert channel_free(agent.profile, agent.load, t.channel), f"{offer.agent_id} over capacity {agent.load}"
        assert self.qualifies(agent, t, at), f"{offer.agent_id} outside the tier of {offer.task_id} at {at - T0}"
        mode = self.queues[t.spec.queue].mode
        assert (mode is Mode.PUSH) == (offer.how in ("offer", "auto_answer")), offer
        if offer.how != "pull":  # a claim of a listed task is the agent's own choice
            mine = self.rank(t, at)
            for other in self.tasks.values():
                if other is t or other.state != "waiting" or self.queues[other.spec.queue].mode is not mode:
                    continue
                if at in self.boundaries(other):
                    continue  # changing tier at this very instant: its own timer, in turn, decides
                if self.free(agent, other.channel) and self.qualifies(agent, other, at):
                    theirs = self.rank(other, at)
                    better = theirs[0] < mine[0] - EPS or (abs(theirs[0] - mine[0]) <= EPS and theirs[1:] < mine[1:])
                    assert not better, f"{offer.agent_id} got {t.spec.task_id} {mine} but {other.spec.task_id} {theirs}"
            if offer.how == "get_next" or (t.spec.preferred and at < self.start_of(t)):
                return  # get-next serves the asking agent; preferred agents are tried in the order named
            key = self.strategy_rank(agent, t, at)
            for rival in self.agents.values():
                if rival is not agent and self.free(rival, t.channel) and self.qualifies(rival, t, at):
                    assert self.strategy_rank(rival, t, at) >= key, f"{rival.profile.agent_id} beats {offer.agent_id}"

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Offer():
                    event(f"offer how={action.how} tier={action.tier}")
                    self.check_offer(action)
                    t, agent = self.tasks[action.task_id], self.agents[action.agent_id]
                    states = {"offer": "offered", "get_next": "claimed"}
                    t.holder, t.state = action.agent_id, states.get(action.how, "assigned")
                    t.since = action.at
                    agent.load[t.channel] = agent.load.get(t.channel, 0) + 1
                    agent.idle_since = agent.last_offered_at = action.at
                    agent.assigned_at[t.spec.task_id] = action.at
                case Revoke():
                    event(f"revoke {action.reason}")
                    t, agent = self.tasks[action.task_id], self.agents[action.agent_id]
                    assert t.holder == action.agent_id
                    agent.load[t.channel] -= 1
                    t.holder, t.state = None, "waiting"
                    if action.reason == "withdrawn":  # the task ended while the agent held it
                        del self.tasks[action.task_id]
                        agent.idle_since = action.at
                case AgentPaused():
                    self.agents[action.agent_id].presence = Presence.NOT_READY
                case CapacityFreed():
                    agent = self.agents[action.agent_id]
                    agent.load[self.after_work_channel.pop((action.agent_id, action.task_id))] -= 1
                    agent.idle_since = action.at

    # ---------------------------------------------------------------- rules

    @rule(
        queue=st.sampled_from(["mail", "mail", "chat", "bin"]),
        skill_needs=st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([0, 30, 60]), max_size=2),
        base=st.sampled_from([100, 300, 500, 900]),
        value=st.sampled_from([0.0, 10.0]),
        due_hours=st.none() | st.sampled_from([-1.0, 1.0, 71.99, 200.0]),
        waited=st.sampled_from([0.0, 0.0, 20.0, 28.0, 29.5, 59.5, 88.0, 100.0]),
        preferred=st.lists(st.sampled_from(AGENTS), max_size=2, unique=True),
    )
    def enqueue(
        self,
        *,
        queue: str,
        skill_needs: dict[str, int],
        base: int,
        value: float,
        due_hours: float | None,
        waited: float,
        preferred: list[str],
    ) -> None:
        self.next_task += 1
        task_id = f"t{self.next_task}"
        due = None if due_hours is None else self.now + due_hours * 3600.0
        spec = TaskSpec(task_id, queue, needs(skill_needs), base, value, due, self.now - waited, tuple(preferred))
        self.tasks[task_id] = RefTask(spec, self.next_task, self.queues[queue].channel)
        self.apply(self.engine.enqueue(spec, self.now))

    def act(self, actions: list[Action]) -> list[Action]:
        """Timers fired only in `wait`, so everything else acts at `now`."""
        assert all(a.at == self.now for a in actions), actions
        return actions

    @rule(agent_id=st.sampled_from(AGENTS), presence=st.sampled_from(list(Presence)))
    def presence(self, agent_id: str, presence: Presence) -> None:
        agent = self.agents[agent_id]
        actions = self.act(self.engine.set_presence(agent_id, presence, None, self.now))
        was, agent.presence = agent.presence, presence
        if presence is Presence.READY and was is not Presence.READY:
            agent.idle_since = self.now
        self.apply(actions)

    @rule(agent_id=st.sampled_from(AGENTS))
    def get_next(self, agent_id: str) -> None:
        agent = self.agents[agent_id]
        if agent.presence is not Presence.READY:
            with pytest.raises(RoutingError, match="set ready to get work"):
                pull.get_next(self.engine, agent_id, self.now)
            return
        actions = self.act(pull.get_next(self.engine, agent_id, self.now))
        takeable = [
            t
            for t in self.tasks.values()
            if t.state == "waiting"
            and t.spec.queue == "bin"
            and self.free(agent, t.channel)
            and self.qualifies(agent, t, self.now)
        ]
        assert len(actions) == (1 if takeable else 0), (actions, takeable)
        self.apply(actions)

    @rule(data=st.data(), agent_id=st.sampled_from(AGENTS))
    def claim(self, data: st.DataObject, agent_id: str) -> None:
        listed = sorted(t for t, r in self.tasks.items() if r.spec.queue == "bin")
        if not listed:
            return
        task_id = data.draw(st.sampled_from(listed))
        t, agent = self.tasks[task_id], self.agents[agent_id]
        allowed = t.state == "waiting" and self.free(agent, t.channel) and self.qualifies(agent, t, self.now)
        if not allowed:
            with pytest.raises(RoutingError):
                pull.claim(self.engine, task_id, agent_id, self.now)
            return
        (offer,) = self.act(pull.claim(self.engine, task_id, agent_id, self.now))
        assert isinstance(offer, Offer)
        assert offer.how == "pull"
        self.apply([offer])

    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        offered = sorted(t for t, r in self.tasks.items() if r.state in ("offered", "claimed"))
        if not offered:
            return
        task_id = data.draw(st.sampled_from(offered))
        holder = self.tasks[task_id].holder
        assert holder is not None
        if data.draw(st.booleans()) or self.tasks[task_id].state == "claimed":
            assert self.act(self.engine.accept(task_id, holder, self.now)) == []
            self.tasks[task_id].state = "assigned"
            self.agents[holder].assigned_at[task_id] = self.now
        else:
            self.apply(self.act(self.engine.reject(task_id, holder, self.now)))

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        assigned = sorted(t for t, r in self.tasks.items() if r.state == "assigned")
        if not assigned:
            return
        task_id = data.draw(st.sampled_from(assigned))
        ref = self.tasks.pop(task_id)
        assert ref.holder is not None
        actions = self.act(self.engine.complete(task_id, ref.holder, self.now))
        agent = self.agents[ref.holder]
        agent.effort.append((self.now, self.now - agent.assigned_at.pop(task_id)))
        if self.queues[ref.spec.queue].after_work_seconds > 0:
            self.after_work_channel[(ref.holder, task_id)] = ref.channel
        else:
            agent.load[ref.channel] -= 1
            agent.idle_since = self.now
        self.apply(actions)

    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        if not self.tasks:
            return
        task_id = data.draw(st.sampled_from(sorted(self.tasks)))
        actions = self.act(self.engine.withdraw(task_id, self.now))
        ref = self.tasks[task_id]
        if ref.state == "assigned":  # nothing to revoke: the reference frees the agent itself
            agent = self.agents[ref.holder or ""]
            agent.load[ref.channel] -= 1
            agent.idle_since = self.now
            del self.tasks[task_id]
        elif ref.state == "waiting":
            del self.tasks[task_id]
        else:
            assert actions[0] == Revoke(task_id, ref.holder or "", "withdrawn", self.now)
        self.apply(actions)

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 5.0, 15.0, 27.5, 29.999, 30.0, 61.0, 300.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds
        self.apply(self.engine.advance(self.now))

    # ----------------------------------------------------------- invariants

    @invariant()
    def nobody_idles_beside_work_they_can_take(self) -> None:
        for agent in self.agents.values():
            for t in self.tasks.values():
                pushed = self.queues[t.spec.queue].mode is Mode.PUSH
                if (
                    pushed
                    and t.state == "waiting"
                    and self.free(agent, t.channel)
                    and self.qualifies(agent, t, self.now)
                ):
                    raise AssertionError(f"{agent.profile.agent_id} is free and {t.spec.task_id} waits for it")

    @invariant()
    def offers_and_claims_time_out(self) -> None:
        for t in self.tasks.values():
            if t.state == "offered":
                assert t.since + self.queues[t.spec.queue].offer_timeout_seconds > self.now, f"{t} outlived its offer"
            if t.state == "claimed":
                assert t.since + self.queues[t.spec.queue].claim_timeout_seconds > self.now, f"{t} outlived its claim"

    @invariant()
    def engine_and_reference_agree_on_holders_and_load(self) -> None:
        for task_id, ref in self.tasks.items():
            mine = self.engine.tasks[task_id]
            assert (mine.agent_id, mine.state) == (ref.holder, ref.state), task_id
        for agent_id, agent in self.agents.items():
            live = {ch: n for ch, n in agent.load.items() if n}
            assert {ch: n for ch, n in self.engine.agents[agent_id].load.items() if n} == live, agent_id
            for channel, n in live.items():
                assert n <= agent.profile.capacity[channel]


def _dt(t: float | None) -> datetime | None:
    return None if t is None else _utc(t)


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


MatchingMachine.TestCase.settings = settings(
    max_examples=400, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestMatchingEngine = pytest.mark.slow(MatchingMachine.TestCase)
