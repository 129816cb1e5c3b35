"""An agent as the engine sees it live: presence, load, the clocks the strategies read (pure)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from workrouter.domain.routing.buckets import Bucket, Heads, Waiting
from workrouter.domain.routing.model import AgentProfile, Presence, QueuePolicy, SkillNeeds, Strategy, channel_free

READY = Presence.READY
LONGEST_IDLE, LEAST_OCCUPIED, MOST_SKILLED = Strategy.LONGEST_IDLE, Strategy.LEAST_OCCUPIED, Strategy.MOST_SKILLED
ROUND_ROBIN, BALANCED_EFFORT = Strategy.ROUND_ROBIN, Strategy.BALANCED_EFFORT


@dataclass(slots=True, eq=False)
class AgentState:
    """Live routing state of one agent."""

    profile: AgentProfile  # replaced by a new profile of the same agent only (put_agent)
    presence: Presence = Presence.OFFLINE
    reason: str | None = None
    load: dict[str, int] = field(default_factory=dict)  # channel -> tasks held (offers included)
    tasks: set[str] = field(default_factory=set)
    idle_since: float = 0.0  # last time the agent became ready, was given a task or finished one
    last_offered_at: float = float("-inf")  # for round robin
    effort: deque[tuple[float, float]] = field(default_factory=deque)  # (finished_at, handle seconds)
    effort_total: float = 0.0
    eligible: list[Bucket] = field(default_factory=list)  # push buckets it may take from, cached
    eligible_generation: int = -1
    # the same per channel and queue, for the walk over each queue's heads (placement.best_push_task)
    walk: list[tuple[str, list[tuple[Heads, frozenset[Bucket]]]]] = field(default_factory=list)
    available_in: list[tuple[str, list[dict[str, AgentState]]]] | None = None  # its queues' free-agent sets
    agent_id: str = field(init=False, default="")  # the profile's, kept here: read on every decision

    def __post_init__(self) -> None:
        self.agent_id = self.profile.agent_id

    def free_on(self, channel: str) -> bool:
        """Ready and with capacity for one more task on the channel."""
        if self.presence is not READY:
            return False
        profile = self.profile
        if profile.exclusive_channels:
            return channel_free(profile, self.load, channel)
        return self.load.get(channel, 0) < profile.capacity.get(channel, 0)  # channel_free without blending

    def add_effort(self, finished_at: float, seconds: float) -> None:
        """Record handle time worked (for the balanced-effort strategy and fairness reports)."""
        self.effort.append((finished_at, seconds))
        self.effort_total += seconds

    def effort_since(self, start: float) -> float:
        """Handle seconds finished at or after `start` (older records are forgotten)."""
        while self.effort and self.effort[0][0] < start:
            self.effort_total -= self.effort.popleft()[1]
        return self.effort_total


def strategy_key(
    agent: AgentState, strategy: Strategy, *, channel: str, needs: SkillNeeds, now: float, window: float
) -> tuple[float, float, str]:
    """Smaller is better: the strategy's own measure, then longest idle, then agent id."""
    # identity tests against module constants: this runs on every decision, and `match` on enum members
    # looks each member up on the class first
    if strategy is LONGEST_IDLE:
        first = 0.0
    elif strategy is LEAST_OCCUPIED:
        cap = agent.profile.capacity.get(channel, 0) or 1
        first = agent.load.get(channel, 0) / cap
    elif strategy is MOST_SKILLED:
        skills = agent.profile.skills
        first = -float(sum(skills.get(skill, 0) for skill, _ in needs))
    elif strategy is ROUND_ROBIN:
        return (agent.last_offered_at, agent.idle_since, agent.agent_id)
    elif strategy is BALANCED_EFFORT:
        first = agent.effort_since(now - window)
    else:
        first = 0.0
    return (first, agent.idle_since, agent.agent_id)


def rank(agent: AgentState, policy: QueuePolicy, task: Waiting, now: float) -> tuple[float, float, str]:
    """The agent's strategy key for this task under its queue's policy (smaller is better)."""
    strategy = policy.strategy
    if strategy is LONGEST_IDLE:
        return (0.0, agent.idle_since, agent.agent_id)
    return strategy_key(
        agent, strategy, channel=task.channel, needs=task.needs, now=now, window=policy.effort_window_seconds
    )


def load_text(agent: AgentState) -> str:
    """The agent's load against capacity, e.g. `workitem 2/3, voice 0/1`, for error messages."""
    held = ", ".join(f"{ch} {n}/{agent.profile.capacity.get(ch, 0)}" for ch, n in sorted(agent.load.items()))
    return held or "no capacity"


def score_of(key: tuple[float, float, str], strategy: Strategy) -> float:
    """The number a TaskOffered records as the agent's score under the strategy (always finite: JSON has no
    infinity, and an event whose score is written as null cannot be read back)."""
    if strategy is MOST_SKILLED:
        score = -key[0]
    elif strategy is LONGEST_IDLE:
        score = -key[1]
    else:
        score = key[0]
    return score if math.isfinite(score) else 0.0  # round robin: never offered yet (-inf) is "since the epoch"
