"""Where waiting tasks sit (buckets per queue, skill needs and tier) and how an agent finds the best one (pure).

The state half of the engine: filing a task in the bucket its tier and urgency say, with the timer
that re-files it; the per-queue sets of free agents; each agent's cached list of buckets it may take
from; and the hot loop that picks an agent's best task. engine.py decides and announces.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping

from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.agents import AgentState
from workrouter.domain.routing.buckets import Bucket, Entry, Waiting
from workrouter.domain.routing.model import Mode, QueuePolicy, Tier, can_serve

PLACE, OFFER_TIMEOUT, CLAIM_TIMEOUT, AFTER_WORK = range(4)
ANY_TIER = Tier(0)
DEFAULT_POLICY = PriorityPolicy()


class Placement:
    """Buckets, free-agent sets and timers for one routing domain."""

    def __init__(self, queues: Mapping[str, QueuePolicy], policy: PriorityPolicy = DEFAULT_POLICY) -> None:
        self.queues = dict(queues)
        self.policy = policy
        self.agents: dict[str, AgentState] = {}
        self.tasks: dict[str, Waiting] = {}
        self.buckets: dict[tuple[str, tuple[tuple[str, int], ...], int], Bucket] = {}
        self.queue_buckets: dict[str, list[Bucket]] = {name: [] for name in self.queues}
        self.preferred_buckets: dict[tuple[str, str, tuple[tuple[str, int], ...]], Bucket] = {}
        self.preferred_by_agent: dict[str, list[Bucket]] = {}
        self._after_work: dict[tuple[str, str], str] = {}  # (agent, task) -> channel held until after-work ends
        self.parked: dict[str, dict[str, Waiting]] = {}  # agent -> its personal workbin
        self.foreign: dict[tuple[str, str], str] = {}  # (agent, task) -> channel: holds Redis has, we cannot place
        self.available: dict[str, dict[str, AgentState]] = {name: {} for name in self.queues}
        self.generation = 0
        self._timers: list[tuple[float, int, int, str, int]] = []  # (when, seq, kind, id, stamp)
        self._seq = itertools.count(1)
        self._stamps = itertools.count(1)
        self._rate_per_hour = policy.urgency_per_hour

    def _timer(self, when: float, kind: int, key: str, stamp: int) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), kind, key, stamp))

    def _compact_timers(self) -> None:
        live = [t for t in self._timers if t[2] == AFTER_WORK or _timer_live(self.tasks.get(t[3]), t[4])]
        heapq.heapify(live)
        self._timers = live

    def _bucket(self, queue: str, task: Waiting, tier: int) -> Bucket:
        key = (queue, task.needs, tier)
        bucket = self.buckets.get(key)
        if bucket is None:
            policy = self.queues[queue]
            bucket = Bucket(queue, policy.channel, task.needs, tier, push=policy.mode is Mode.PUSH)
            self.buckets[key] = bucket
            self.queue_buckets[queue].append(bucket)
            self.generation += 1
        return bucket

    def _file(self, task: Waiting, now: float) -> None:
        """Put a waiting task in the bucket(s) its tier and urgency say, and set its next timer."""
        policy = self.queues[task.queue]
        task.state, task.agent_id = "waiting", None
        task.stamp = next(self._stamps)
        start = task.enqueued_at
        next_at: float | None = None
        if task.preferred and policy.preferred_seconds > 0:
            start += policy.preferred_seconds
        if now < start:
            task.tier = -1
            next_at = start
        else:
            # absolute times, compared exactly as the timer that re-files the task computes them
            task.tier = 0
            for index, tier in enumerate(policy.tiers):
                if now >= start + tier.after_seconds:
                    task.tier = index
            if task.tier + 1 < len(policy.tiers):
                next_at = start + policy.tiers[task.tier + 1].after_seconds
        task.is_urgent = task.urgent_from is not None and now >= task.urgent_from
        if task.urgent_from is not None and not task.is_urgent:
            next_at = task.urgent_from if next_at is None else min(next_at, task.urgent_from)
        if task.tier == -1:
            for agent_id in task.preferred:
                key = (agent_id, task.queue, task.needs)
                bucket = self.preferred_buckets.get(key)
                if bucket is None:
                    bucket = Bucket(
                        task.queue, task.channel, task.needs, -1, agent_id=agent_id, push=policy.mode is Mode.PUSH
                    )
                    self.preferred_buckets[key] = bucket
                    self.preferred_by_agent.setdefault(agent_id, []).append(bucket)
                bucket.add(task)
                task.buckets.append(bucket)
        else:
            bucket = self._bucket(task.queue, task, task.tier)
            bucket.add(task)
            task.buckets.append(bucket)
        if next_at is not None:
            self._timer(next_at, PLACE, task.task_id, task.stamp)

    def _unfile(self, task: Waiting) -> None:
        for bucket in task.buckets:
            bucket.discard(task)
            if bucket.stale() > 2 * bucket.size + 1024:
                bucket.compact()
        task.buckets = []
        task.stamp = next(self._stamps)

    def _refresh(self, agent: AgentState) -> None:
        """Keep the per-queue sets of free agents in step with the agent's presence and load."""
        agent_id = agent.agent_id
        for queue in agent.profile.queues:
            policy = self.queues.get(queue)
            if policy is None:
                continue
            if agent.free_on(policy.channel):
                self.available[queue][agent_id] = agent
            else:
                self.available[queue].pop(agent_id, None)

    def _eligible(self, agent: AgentState) -> list[Bucket]:
        if agent.eligible_generation != self.generation:
            profile = agent.profile
            agent.eligible = [
                bucket
                for queue in sorted(profile.queues)
                if queue in self.queues and self.queues[queue].mode is Mode.PUSH
                for bucket in self.queue_buckets[queue]
                if can_serve(profile, bucket.needs, self.queues[queue].tiers[bucket.tier])
            ]
            agent.eligible_generation = self.generation
        return agent.eligible

    def best_task_for(self, agent: AgentState, now: float, buckets: Iterable[Bucket]) -> Waiting | None:
        """The best waiting task in these buckets on a channel the agent has free: priority, then age.

        The hot loop of the router: one look at each bucket's cached heads. Heap entries compare as
        (-score, enqueued_at, seq), so the smallest entry is the best task; an urgent head's score is
        shifted by the urgency all urgent tasks have gained by `now`.
        """
        shift = self._rate_per_hour * now / 3600.0
        best: Entry | None = None
        free: dict[str, bool] = {}
        for bucket in buckets:
            if bucket.size <= 0:
                continue
            ok = free.get(bucket.channel)
            if ok is None:
                ok = free[bucket.channel] = agent.free_on(bucket.channel)
            if not ok:
                continue
            if not bucket.fresh:
                bucket.refresh()
            head = bucket.top_static
            if head is not None and (best is None or head < best):
                best = head
            head = bucket.top_urgent
            if head is not None:
                shifted = (head[0] - shift, *head[1:])
                if best is None or shifted < best:
                    best = shifted
        return None if best is None else best[4]

    def _agent_buckets(self, agent: AgentState) -> list[Bucket]:
        own = self.preferred_by_agent.get(agent.agent_id)
        if not own:
            return self._eligible(agent)
        profile = agent.profile
        preferred = [b for b in own if b.size > 0 and b.push and can_serve(profile, b.needs, ANY_TIER)]
        return preferred + self._eligible(agent) if preferred else self._eligible(agent)


def _timer_live(task: Waiting | None, stamp: int) -> bool:
    return task is not None and task.stamp == stamp
