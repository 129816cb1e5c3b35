"""The router's vocabulary: queue policies, agent profiles, presence and the work the engine holds (pure)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

RONA = "rona"  # the not-ready reason code the router sets on redirect-on-no-answer (codes.yaml)


class Strategy(StrEnum):
    """How a queue chooses among the eligible agents with free capacity."""

    LONGEST_IDLE = "longest_idle"  # the longest since it became ready, was given a task, or a task it held ended
    LEAST_OCCUPIED = "least_occupied"  # the lowest load / capacity on the channel, then longest idle
    MOST_SKILLED = "most_skilled"  # the highest summed level in the task's required skills, then longest idle
    ROUND_ROBIN = "round_robin"  # the longest since it was given a task (finishing one does not count)
    BALANCED_EFFORT = "balanced_effort"  # the least handle time worked in the effort window, then longest idle


class Mode(StrEnum):
    """Push: the router offers tasks. Pull: agents list the queue (a workbin) and claim."""

    PUSH = "push"
    PULL = "pull"


class Presence(StrEnum):
    """An agent's presence; only READY agents are offered work or may claim it."""

    OFFLINE = "offline"
    READY = "ready"
    NOT_READY = "not_ready"


@dataclass(frozen=True, slots=True)
class Tier:
    """A target tier: from `after_seconds` of waiting, agents with every required skill at `min_level` or more.

    The task's own minimum level for a skill still applies when it is higher than the tier's.
    """

    min_level: int
    after_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """How one queue distributes its tasks."""

    name: str
    domain: str
    channel: str = "workitem"
    strategy: Strategy = Strategy.LONGEST_IDLE
    tiers: tuple[Tier, ...] = (Tier(0),)  # ascending after_seconds, first at 0, min_level not increasing
    mode: Mode = Mode.PUSH
    offer_timeout_seconds: float = 30.0  # RONA after this long without an answer
    preferred_seconds: float = 0.0  # how long a task's preferred agents are tried alone
    after_work_seconds: float = 0.0  # wrap-up time before the agent's capacity is free again
    claim_timeout_seconds: float = 300.0  # a "get next" claim not started by then goes back to the queue
    service_levels: tuple[int, ...] = (20, 60, 300)  # answered-within thresholds (seconds), up to 12
    effort_window_seconds: float = 8 * 3600.0  # the window the balanced-effort strategy sums over

    def __post_init__(self) -> None:
        # members, not their strings: the engine compares them by identity on its hot path
        object.__setattr__(self, "strategy", Strategy(self.strategy))
        object.__setattr__(self, "mode", Mode(self.mode))
        tiers = self.tiers
        if not tiers or tiers[0].after_seconds != 0:
            raise ValueError(f"queue {self.name}: the first tier must start at 0 seconds")
        for before, after in itertools.pairwise(tiers):
            if after.after_seconds <= before.after_seconds or after.min_level > before.min_level:
                raise ValueError(
                    f"queue {self.name}: tiers must start later and ask no higher a level than the one before"
                )


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """Who an agent is for routing: skills, queues, capacity. Changes rarely (config or supervisor)."""

    agent_id: str
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level 0..100
    queues: frozenset[str] = frozenset()
    capacity: Mapping[str, int] = field(default_factory=lambda: {"workitem": 1})  # channel -> max at once
    exclusive_channels: frozenset[str] = frozenset()  # e.g. voice: taken only alone, and blocks the rest
    auto_answer: bool = False

    def level(self, skill: str) -> int:
        """The agent's level in a skill, -1 when it does not have it."""
        return self.skills.get(skill, -1)


SkillNeeds = tuple[tuple[str, int], ...]  # ((skill, min_level), ...) sorted by skill name


def needs(pairs: Mapping[str, int] | list[tuple[str, int]]) -> SkillNeeds:
    """A canonical (sorted, one entry per skill, highest level kept) tuple of skill needs."""
    merged: dict[str, int] = {}
    for skill, level in pairs.items() if isinstance(pairs, Mapping) else pairs:
        merged[skill] = max(level, merged.get(skill, level))
    return tuple(sorted(merged.items()))


def can_serve(profile: AgentProfile, skill_needs: SkillNeeds, tier: Tier) -> bool:
    """True when the agent has every needed skill at max(task minimum, tier minimum) or more."""
    floor = tier.min_level
    skills = profile.skills
    for skill, level in skill_needs:
        have = skills.get(skill)
        if have is None or have < (level if level > floor else floor):
            return False
    return True


def channel_free(profile: AgentProfile, load: Mapping[str, int], channel: str) -> bool:
    """True when the agent can take one more task on the channel, blending rules included."""
    if load.get(channel, 0) >= profile.capacity.get(channel, 0):
        return False
    if not profile.exclusive_channels:
        return True
    busy_elsewhere = any(n > 0 for ch, n in load.items() if ch != channel)
    if channel in profile.exclusive_channels and busy_elsewhere:
        return False
    return not any(load.get(ch, 0) > 0 for ch in profile.exclusive_channels if ch != channel)
