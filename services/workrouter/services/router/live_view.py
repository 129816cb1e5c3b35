"""What a supervisor's console shows of a domain's queues, as the router sees them now (issue 20).

Every second or so (`RouterOptions.live_seconds`), each domain's timer loop writes this view to Redis
(`{p}:live:<domain>`, expiring after a few periods, so a dead router's view vanishes instead of lying), and
the api serves it (`GET /v1/supervisor/queues`). It is built from the counts the engine keeps as tasks move
(domain/routing/tally.py) and one pass over the domain's agents: its cost does not grow with the number
of tasks waiting.
"""

from __future__ import annotations

from typing import Any

from workrouter.domain.routing.model import Presence
from workrouter.services.router.carry_out import DomainState


def live_view(state: DomainState, now: float) -> dict[str, Any]:
    """The domain's queues now: waiting, oldest wait, held, service level now, and the logged-in agents of each
    queue: busy (holding work), ready (holding none), not ready (holding none), and free (ready with room for
    the queue's channel, which a task would be offered to now)."""
    tallies = state.engine.tally.queues
    counts = {queue: {"ready": 0, "busy": 0, "not_ready": 0} for queue in state.queues}
    for agent in state.engine.agents.values():
        if agent.presence is Presence.OFFLINE:
            continue
        status = "busy" if agent.tasks else "ready" if agent.presence is Presence.READY else "not_ready"
        for queue in agent.profile.queues & counts.keys():
            counts[queue][status] += 1
    queues: dict[str, Any] = {}
    for queue, policy in sorted(state.queues.items()):
        tally = tallies[queue]
        late = tally.late(now, policy.service_levels)
        levels = [
            {"threshold_seconds": threshold, "ratio": round(state.metrics.service_level(queue, threshold, n, now), 4)}
            for threshold, n in zip(policy.service_levels, late, strict=True)
        ]
        queues[queue] = {
            "waiting": tally.static + tally.urgent,
            "waiting_urgent": tally.urgent,
            "oldest_wait_seconds": round(tally.oldest_wait(now), 3),
            "held": dict(sorted(tally.held.items())),
            "service_level": levels,
            "agents": {**counts[queue], "free": len(state.engine.available.get(queue, ()))},
        }
    return {"domain": state.domain, "at": now, "queues": queues}
