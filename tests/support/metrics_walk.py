"""The router's queue gauges as they were computed before the tallies: a walk over every task (reference).

`recount` is the loop the metrics collector ran at each scrape until the engine kept its counts as
tasks move (libs/workrouter/domain/routing/tally.py); `describe_by_walk` is the collector's
`describe` of that time, with its walk over the agents as it was (`agents_by_walk`). Tests hold
the tallies and the collector to them; the router benchmark times them as the "before" of a scrape.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workrouter.domain.routing.engine import Engine
from workrouter.domain.routing.model import RONA, Presence
from workrouter.domain.routing.tally import HELD
from workrouter.services.router.carry_out import DomainState
from workrouter.services.router.metrics_collector import BANDS, Families


@dataclass
class Recount:
    """What one walk over the engine's tasks finds, per queue."""

    waiting: dict[tuple[str, str], int]  # (queue, band) -> tasks
    held: dict[tuple[str, str], int]  # (queue, state) -> tasks
    since: dict[str, list[float]]  # queue -> enqueued_at of each waiting task, in no order

    def ages(self, queue: str, now: float) -> list[float]:
        """How long each waiting task of the queue has waited at `now`, shortest first."""
        return sorted(now - since for since in self.since[queue])

    def oldest_wait(self, queue: str, now: float) -> float:
        ages = self.ages(queue, now)
        return ages[-1] if ages else 0.0

    def late(self, queue: str, now: float, thresholds: Sequence[float]) -> list[int]:
        ages = self.ages(queue, now)
        return [len(ages) - bisect.bisect_right(ages, threshold) for threshold in thresholds]


def recount(engine: Engine, queues: Iterable[str]) -> Recount:
    """Walk every task of the engine (the scrape's cost before the tallies)."""
    queues = list(queues)
    waiting = {(q, band): 0 for q in queues for band in BANDS}
    held = {(q, held_state): 0 for q in queues for held_state in HELD}
    since: dict[str, list[float]] = {q: [] for q in queues}
    for task in engine.tasks.values():
        if task.queue not in since:
            continue
        if task.state == "waiting":
            waiting[(task.queue, "urgent" if task.is_urgent else "static")] += 1
            since[task.queue].append(task.enqueued_at)
        elif task.state in HELD:
            held[(task.queue, task.state)] += 1
    return Recount(waiting, held, since)


def describe_by_walk(state: DomainState, now: float, out: Families) -> None:
    """The collector's `describe` before the tallies: the same families, from a walk over every task."""
    domain = state.domain
    out.owned.add_metric([domain], 1.0)
    found = recount(state.engine, state.queues)
    for (queue, band), count in found.waiting.items():
        out.waiting.add_metric([domain, queue, band], count)
    for (queue, held_state), count in found.held.items():
        out.held.add_metric([domain, queue, held_state], count)
    eligible = agents_by_walk(state, out)
    for queue, policy in sorted(state.queues.items()):
        queue_ages = found.ages(queue, now)
        out.oldest.add_metric([domain, queue], queue_ages[-1] if queue_ages else 0.0)
        out.eligible.add_metric([domain, queue], eligible[queue])
        out.available.add_metric([domain, queue], len(state.engine.available.get(queue, ())))
        for index, threshold in enumerate(policy.service_levels, start=1):
            late = len(queue_ages) - bisect.bisect_right(queue_ages, threshold)
            ratio = state.metrics.service_level(queue, threshold, late, now)
            out.service_level.add_metric([domain, queue, str(threshold), str(index)], ratio)


def agents_by_walk(state: DomainState, out: Families) -> dict[str, int]:
    """Agents by status and reason, load and capacity; returns the logged-in agents per queue."""
    eligible = dict.fromkeys(state.queues, 0)
    statuses = {("offline", ""): 0, ("ready", ""): 0}
    statuses.update({("not_ready", r): 0 for r in (*state.config.not_ready_reasons, RONA)})
    load: dict[str, int] = {}
    capacity: dict[str, int] = {}
    for agent in state.engine.agents.values():
        presence = agent.presence
        reason = (agent.reason or "") if presence is Presence.NOT_READY else ""
        statuses[(presence.value, reason)] = statuses.get((presence.value, reason), 0) + 1
        if presence is Presence.OFFLINE:
            continue
        for queue in agent.profile.queues & eligible.keys():
            eligible[queue] += 1
        for channel, cap in agent.profile.capacity.items():
            capacity[channel] = capacity.get(channel, 0) + cap
            load[channel] = load.get(channel, 0) + agent.load.get(channel, 0)
    for (status, reason), count in sorted(statuses.items()):
        out.agents.add_metric([state.domain, status, reason], count)
    for channel in sorted(capacity):
        out.load.add_metric([state.domain, channel], load[channel])
        out.capacity.add_metric([state.domain, channel], capacity[channel])
    return eligible
