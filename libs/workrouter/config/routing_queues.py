"""The router's queues.yaml: each queue's strategy, tiers, mode and timers, validated strictly."""

from __future__ import annotations

from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workrouter.config.routing_types import Level, PositiveSeconds, Seconds, WholeSeconds, located, refuse_repeats
from workrouter.domain.names import Name
from workrouter.domain.routing.model import Mode, QueuePolicy, Strategy, Tier

MAX_TIERS = 5
MAX_SERVICE_LEVELS = 12
_DEFAULT = QueuePolicy(name="default", domain="default")
_TIERS = _DEFAULT.tiers


class TierConfig(BaseModel):
    """From `after_seconds` of waiting, agents with every required skill at `min_level` or more may take the task."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_level: Level = Field(description="Lowest skill level accepted in this tier (0..100).")
    after_seconds: Seconds = Field(default=0, description="Waiting time from which this tier applies.")


class QueueConfig(BaseModel):
    """One queue: the domain that owns it and how it distributes its tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(description="Queue name, as the rules set it.")
    domain: Name = Field(description="Routing domain: the set of queues sharing agents.")
    description: str = Field(default="", max_length=500)
    channel: Name = Field(default=_DEFAULT.channel, description="Media channel of the queue's tasks.")
    strategy: Strategy = Field(default=_DEFAULT.strategy, description="How an agent is chosen among eligible ones.")
    tiers: list[TierConfig] = Field(
        default_factory=lambda: [TierConfig(min_level=t.min_level, after_seconds=t.after_seconds) for t in _TIERS],
        min_length=1,
        max_length=MAX_TIERS,
        description="Target tiers: first at 0 s, after_seconds strictly ascending, min_level never rising.",
    )
    mode: Mode = Field(default=_DEFAULT.mode, description="push: the router offers; pull: agents claim (a workbin).")
    offer_timeout_seconds: PositiveSeconds = Field(
        default=_DEFAULT.offer_timeout_seconds, description="An offer not answered by then is a RONA."
    )
    preferred_seconds: Seconds = Field(
        default=_DEFAULT.preferred_seconds, description="How long a task's preferred agents are tried alone."
    )
    after_work_seconds: Seconds = Field(
        default=_DEFAULT.after_work_seconds, description="Wrap-up time before the agent's capacity is free again."
    )
    claim_timeout_seconds: PositiveSeconds = Field(
        default=_DEFAULT.claim_timeout_seconds, description="A claimed task not started by then goes back."
    )
    service_levels: list[WholeSeconds] = Field(
        default_factory=lambda: list(_DEFAULT.service_levels),
        min_length=1,
        max_length=MAX_SERVICE_LEVELS,
        description="Answered-within thresholds for reports, strictly ascending.",
    )
    effort_window_seconds: PositiveSeconds = Field(
        default=_DEFAULT.effort_window_seconds, description="The window the balanced_effort strategy sums over."
    )

    @field_validator("tiers")
    @classmethod
    def _tiers_widen(cls, tiers: list[TierConfig]) -> list[TierConfig]:
        if tiers[0].after_seconds != 0:
            raise located(f"the first tier must start at 0 seconds, not {tiers[0].after_seconds:g}", 0, "after_seconds")
        for i, (before, tier) in enumerate(pairwise(tiers), start=1):
            if tier.after_seconds <= before.after_seconds:
                message = f"{tier.after_seconds:g} is not after the previous tier's {before.after_seconds:g}"
                raise located(message + "; after_seconds must be strictly ascending", i, "after_seconds")
            if tier.min_level > before.min_level:
                message = f"{tier.min_level} is above the previous tier's {before.min_level}"
                raise located(message + "; tiers widen, so min_level must not increase", i, "min_level")
        return tiers

    @field_validator("service_levels")
    @classmethod
    def _ascending(cls, levels: list[int]) -> list[int]:
        for i in range(1, len(levels)):
            if levels[i] <= levels[i - 1]:
                raise located(f"{levels[i]} is not above {levels[i - 1]}; service levels must ascend", i)
        return levels

    def to_policy(self) -> QueuePolicy:
        """The routing domain's policy for this queue."""
        return QueuePolicy(
            name=self.name,
            domain=self.domain,
            channel=self.channel,
            strategy=self.strategy,
            tiers=tuple(Tier(t.min_level, t.after_seconds) for t in self.tiers),
            mode=self.mode,
            offer_timeout_seconds=self.offer_timeout_seconds,
            preferred_seconds=self.preferred_seconds,
            after_work_seconds=self.after_work_seconds,
            claim_timeout_seconds=self.claim_timeout_seconds,
            service_levels=tuple(self.service_levels),
            effort_window_seconds=self.effort_window_seconds,
        )


class QueuesConfigFile(BaseModel):
    """The queues.yaml document as the router reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="workrouter queues")

    queues: list[QueueConfig] = Field(min_length=1)

    @field_validator("queues")
    @classmethod
    def _distinct(cls, queues: list[QueueConfig]) -> list[QueueConfig]:
        refuse_repeats([q.name for q in queues], "queue", "name")
        return queues
