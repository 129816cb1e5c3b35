"""Where waiting tasks sit (buckets per queue, skill needs and tier) and how an agent finds the best one (pure).

The state half of the engine: filing a task in the bucket its tier and urgency say, with the timer
that re-files it; the per-queue sets of free agents; each agent's cached buckets it may take from,
per queue; the per-queue counts of tasks by state that the metrics read (tally.py); and the hot
loop that picks an agent's best task. engine.py decides and announces.

The hot loop walks each of the agent's queues' heads in order (buckets.Heads) and stops at the first
head of a bucket the agent may take from: with most of a queue's buckets open to a member, that is
one or two looks per queue, where a look at every bucket cost one per bucket (decisions D17).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.agents import AgentState
from workrouter.domain.routing.buckets import Bucket, Entry, HeadKey, Heads, Waiting
from workrouter.domain.routing.model import Mode, QueuePolicy, Tier, can_serve
from workrouter.domain.routing.tally import Tally
from workrouter.domain.routing.timers import Timers

PLACE, OFFER_TIMEOUT, CLAIM_TIMEOUT, AFTER_WORK = range(4)
ANY_TIER = Tier(0)
PUSH = Mode.PUSH  # a module constant: an enum member looked up on its class costs ~0.2 µs
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
        self.heads: dict[str, Heads] = {name: Heads() for name in self.queues}
        self.preferred_buckets: dict[tuple[str, str, tuple[tuple[str, int], ...]], Bucket] = {}
        self.preferred_by_agent: dict[str, list[Bucket]] = {}
        self._after_work: dict[tuple[str, str], str] = {}  # (agent, task) -> channel held until after-work ends
        self.parked: dict[str, dict[str, Waiting]] = {}  # agent -> its personal workbin
        self.foreign: dict[tuple[str, str], str] = {}  # (agent, task) -> channel: holds Redis has, we cannot place
        self.available: dict[str, dict[str, AgentState]] = {name: {} for name in self.queues}
        self.tally = Tally(self.queues)  # counts per queue for the metrics, kept as tasks move
        self.generation = 0
        self._shared: dict[frozenset[Bucket], frozenset[Bucket]] = {}  # one set per distinct eligible set
        self._timers = Timers()  # (when, seq, kind, id, stamp)
        self._seq = itertools.count(1)
        self._stamps = itertools.count(1)
        self._rate_per_hour = policy.urgency_per_hour

    def _timer(self, when: float, kind: int, key: str, stamp: int) -> None:
        timers = self._timers
        timers.push((when, next(self._seq), kind, key, stamp))
        if len(timers) > 4 * len(self.tasks) + 4096:
            self._compact_timers()

    def _compact_timers(self) -> None:
        """Drop timers of tasks that moved on."""
        tasks = self.tasks
        self._timers.keep(lambda t: t[2] == AFTER_WORK or _timer_live(tasks.get(t[3]), t[4]))

    def _bucket(self, queue: str, task: Waiting, tier: int) -> Bucket:
        key = (queue, task.needs, tier)
        bucket = self.buckets.get(key)
        if bucket is None:
            policy = self.queues[queue]
            bucket = Bucket(queue, policy.channel, task.needs, tier, push=policy.mode is PUSH, heads=self.heads[queue])
            self.buckets[key] = bucket
            self.queue_buckets[queue].append(bucket)
            self.generation += 1
            self._shared.clear()
        return bucket

    def _file(self, task: Waiting, now: float) -> None:
        """Put a waiting task in the bucket(s) its tier and urgency say, and set its next timer."""
        policy = self.queues[task.queue]
        task.agent_id = None
        task.stamp = next(self._stamps)
        start = task.enqueued_at
        next_at: float | None = None
        if task.preferred and policy.preferred_seconds > 0:
            start += policy.preferred_seconds
        if now < start:
            tier = -1
            next_at = start
        else:
            # absolute times, compared exactly as the timer that re-files the task computes them; tiers start
            # later one after the other, so the tiers reached are a prefix
            tiers = policy.tiers
            last = len(tiers) - 1
            tier = 0
            while tier < last and now >= start + tiers[tier + 1].after_seconds:
                tier += 1
            if tier < last:
                next_at = start + tiers[tier + 1].after_seconds
        task.tier = tier
        urgent_from = task.urgent_from
        urgent = urgent_from is not None and now >= urgent_from
        if urgent_from is not None and not urgent and (next_at is None or urgent_from < next_at):
            next_at = urgent_from
        self.tally.move(task, "waiting", urgent)  # before the bucket reads the band
        if tier == -1:
            self._file_preferred(task, policy)
        else:
            bucket = self.buckets.get((task.queue, task.needs, tier)) or self._bucket(task.queue, task, tier)
            bucket.add(task)
            task.where = bucket
        if next_at is not None:
            self._timer(next_at, PLACE, task.task_id, task.stamp)

    def _file_preferred(self, task: Waiting, policy: QueuePolicy) -> None:
        held: list[Bucket] = []
        for agent_id in task.preferred:
            key = (agent_id, task.queue, task.needs)
            bucket = self.preferred_buckets.get(key)
            if bucket is None:
                bucket = Bucket(task.queue, task.channel, task.needs, -1, agent_id=agent_id, push=policy.mode is PUSH)
                self.preferred_buckets[key] = bucket
                self.preferred_by_agent.setdefault(agent_id, []).append(bucket)
            bucket.add(task)
            held.append(bucket)
        task.where = tuple(held)

    def _unfile(self, task: Waiting) -> None:
        where = task.where
        if where is not None:
            if isinstance(where, Bucket):
                where.discard(task)
            else:
                for bucket in where:
                    bucket.discard(task)
            task.where = None
        task.stamp = next(self._stamps)

    def _refresh(self, agent: AgentState) -> None:
        """Keep the per-queue sets of free agents in step with the agent's presence and load."""
        sets = agent.available_in
        if sets is None:
            sets = agent.available_in = self._available_in(agent)
        agent_id = agent.agent_id
        for channel, free_sets in sets:
            if agent.free_on(channel):
                for free in free_sets:
                    free[agent_id] = agent
            else:
                for free in free_sets:
                    free.pop(agent_id, None)

    def _available_in(self, agent: AgentState) -> list[tuple[str, list[dict[str, AgentState]]]]:
        """The free-agent sets of the agent's queues, by channel."""
        by_channel: dict[str, list[dict[str, AgentState]]] = {}
        for queue in sorted(agent.profile.queues):
            policy = self.queues.get(queue)
            if policy is not None:
                by_channel.setdefault(policy.channel, []).append(self.available[queue])
        return list(by_channel.items())

    def _eligible(self, agent: AgentState) -> list[Bucket]:
        if agent.eligible_generation != self.generation:
            self._index_agent(agent)
        return agent.eligible

    def _index_agent(self, agent: AgentState) -> None:
        """Cache the push buckets the agent may take from: as a list, and per queue (for the walk), by channel."""
        profile = agent.profile
        eligible: list[Bucket] = []
        walk: dict[str, list[tuple[Heads, frozenset[Bucket]]]] = {}
        for queue in sorted(profile.queues):
            policy = self.queues.get(queue)
            if policy is None or policy.mode is not PUSH:
                continue
            tiers = policy.tiers
            mine = [b for b in self.queue_buckets[queue] if can_serve(profile, b.needs, tiers[b.tier])]
            if mine:
                eligible += mine
                members = frozenset(mine)
                members = self._shared.setdefault(members, members)
                walk.setdefault(policy.channel, []).append((self.heads[queue], members))
        agent.eligible = eligible
        agent.walk = list(walk.items())
        agent.eligible_generation = self.generation

    def best_task_for(self, agent: AgentState, now: float, buckets: Iterable[Bucket]) -> Waiting | None:
        """The best waiting task in these buckets on a channel the agent has free: priority, then age.

        One look at each bucket's heads. Heap entries compare as (-score, enqueued_at, seq), so the
        smallest entry is the best task; an urgent head's score is shifted by the urgency all urgent
        tasks have gained by `now`. (Routing uses `best_push_task`, which gives the same answer for the
        agent's push buckets without looking at each; this is for any set of buckets, e.g. pull.)
        """
        shift = self._rate_per_hour * now / 3600.0
        best: Any = None
        free: dict[str, bool] = {}
        for bucket in buckets:
            if bucket.size <= 0:
                continue
            ok = free.get(bucket.channel)
            if ok is None:
                ok = free[bucket.channel] = agent.free_on(bucket.channel)
            if not ok:
                continue
            best = _better(best, bucket, shift)
        return None if best is None else best[4]

    def best_push_task(  # noqa: C901 - the router's hot loop, kept in one frame (D19)
        self, agent: AgentState, now: float
    ) -> Waiting | None:
        """The best waiting task of the agent's push queues (and its preferred-agent buckets) on a free channel.

        The hot loop of the router. Each queue's heads are in order (buckets.Heads), so the best task the
        agent may take in a queue is the head of the first bucket in that order that it may take from.
        Urgent heads keep their order as time passes; shifting by the urgency gained by `now` can make two
        of them equal in floating point, so the walk goes on over those that compare equal after the
        shift, and chooses exactly as `best_task_for` over the same buckets.
        """
        if agent.eligible_generation != self.generation:
            self._index_agent(agent)
        shift = self._rate_per_hour * now / 3600.0
        best: Any = None
        for channel, queues in agent.walk:
            if not agent.free_on(channel):
                continue
            for heads, mine in queues:
                for key in heads.static:
                    if key[5] in mine:
                        if best is None or key < best:
                            best = key
                        break
                if heads.urgent:
                    best = _first_urgent(heads.urgent, mine, shift, best)
        own = self.preferred_by_agent.get(agent.agent_id)
        if own:
            profile = agent.profile
            for bucket in own:
                if (
                    bucket.size > 0
                    and bucket.push
                    and agent.free_on(bucket.channel)
                    and can_serve(profile, bucket.needs, ANY_TIER)
                ):
                    best = _better(best, bucket, shift)
        return None if best is None else best[4]

    def _agent_buckets(self, agent: AgentState) -> list[Bucket]:
        own = self.preferred_by_agent.get(agent.agent_id)
        if not own:
            return self._eligible(agent)
        profile = agent.profile
        preferred = [b for b in own if b.size > 0 and b.push and can_serve(profile, b.needs, ANY_TIER)]
        return preferred + self._eligible(agent) if preferred else self._eligible(agent)


def _first_urgent(index: list[HeadKey], mine: frozenset[Bucket], shift: float, best: Any) -> Any:
    """The better of `best` and the first urgent head in `index` of a bucket in `mine`, shifted to `now`
    (and any head after it that the shift makes equal to it in floating point)."""
    first: float | None = None
    for key in index:
        value = key[0] - shift
        if first is not None and value > first:
            break
        if key[5] in mine:
            if first is None:
                first = value
            shifted = (value, key[1], key[2], key[3], key[4])
            if best is None or shifted < best:
                best = shifted
    return best


def _better(best: Any, bucket: Bucket, shift: float) -> Any:
    """The better of `best` (an entry, or None) and the bucket's heads, urgent ones shifted to `now`."""
    head: Entry | None = bucket.top_static
    if head is not None and (best is None or head < best):
        best = head
    head = bucket.top_urgent
    if head is not None:
        shifted = (head[0] - shift, *head[1:])
        if best is None or shifted < best:
            best = shifted
    return best


def _timer_live(task: Waiting | None, stamp: int) -> bool:
    return task is not None and task.stamp == stamp
