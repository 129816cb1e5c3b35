"""The matching engine: which waiting task goes to which agent, now (pure, single-threaded, time as a parameter).

The engine proposes; the router service makes each proposal real with an atomic reservation in Redis
and tells the engine when one is refused. Choosing a task for an agent looks at the best task of each
bucket the agent may take from (see buckets.py), never at every waiting task; choosing an agent for a
new task looks at the free agents of its queue. Every call first fires the timers that are due (tier
widening, urgency, end of the preferred-agent phase, offer and claim timeouts, after-work time), so a
decision never rests on stale tiers. Each timer acts at its own due time, in (time, creation) order:
two tasks reaching a new tier at the same instant are re-filed and offered one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable

from workrouter.domain.priority import static_score
from workrouter.domain.routing.actions import (
    Action,
    AgentPaused,
    CapacityFreed,
    How,
    Offer,
    Revoke,
    RevokeReason,
    RoutingError,
    TaskSpec,
)
from workrouter.domain.routing.agents import AgentState, rank, score_of
from workrouter.domain.routing.buckets import Waiting
from workrouter.domain.routing.model import RONA, AgentProfile, Mode, Presence, Strategy, can_serve
from workrouter.domain.routing.placement import (
    AFTER_WORK,
    ANY_TIER,
    CLAIM_TIMEOUT,
    OFFER_TIMEOUT,
    PLACE,
    Placement,
)

READY, PUSH = Presence.READY, Mode.PUSH  # module constants: an enum member looked up on its class costs ~0.2 µs
STRATEGY_NAMES = {strategy: strategy.value for strategy in Strategy}


class Engine(Placement):
    """Waiting tasks, live agents and the offers between them, for one routing domain."""

    # ----------------------------------------------------------------- agents

    def put_agent(self, profile: AgentProfile, now: float) -> list[Action]:
        """Add an agent, or replace its profile (skills, queues, capacity) keeping its live state."""
        actions = self.advance(now)
        agent = self.agents.get(profile.agent_id)
        if agent is None:
            agent = self.agents[profile.agent_id] = AgentState(profile, idle_since=now)
        else:
            for queue in agent.profile.queues:
                self.available.get(queue, {}).pop(profile.agent_id, None)
            agent.profile = profile
            agent.eligible_generation = -1
            agent.available_in = None
        self._refresh(agent)
        return actions + self._route_agent(agent, now)

    def set_presence(self, agent_id: str, presence: Presence, reason: str | None, now: float) -> list[Action]:
        """Log in/out, ready or not ready. Going offline revokes the agent's open offers and claims."""
        actions = self.advance(now)
        agent = self._agent(agent_id)
        was = agent.presence
        agent.presence, agent.reason = presence, reason
        if presence is Presence.READY and was is not Presence.READY:
            agent.idle_since = now
        self._refresh(agent)
        if presence is Presence.OFFLINE:
            for task_id in sorted(agent.tasks):
                task = self.tasks.get(task_id)
                if task is not None and task.state in ("offered", "claimed"):
                    actions += self._give_back(task, agent, "agent_offline", now)
        return actions + self._route_agent(agent, now)

    def restore_clock(self, agent_id: str, idle_since: float, last_offered_at: float) -> None:
        """After a takeover: the agent's idle clock as the last owner left it (read back from the store), so the
        strategies that favour the longest idle agent do not start everyone afresh at the takeover."""
        agent = self._agent(agent_id)
        agent.idle_since = idle_since
        agent.last_offered_at = max(agent.last_offered_at, last_offered_at)

    # ------------------------------------------------------------------ tasks

    def enqueue(self, spec: TaskSpec, now: float) -> list[Action]:
        """Queue a classified task (or re-queue one: a known waiting task is re-filed with the new facts)."""
        actions = self.advance(now)
        if spec.queue not in self.queues:
            raise RoutingError(f"unknown queue {spec.queue!r}; known: {', '.join(sorted(self.queues))}")
        old = self.tasks.get(spec.task_id)
        if old is not None and old.state != "waiting":
            raise RoutingError(f"task {spec.task_id} is {old.state}; withdraw it before queueing it again")
        if old is not None:
            self._unfile(old)
            self.tally.move(old, "")
        task = self.tasks[spec.task_id] = self.waiting(spec, old.seq if old is not None else None)
        self._file(task, now)
        return actions + self._route_task(task, now)

    def waiting(self, spec: TaskSpec, seq: int | None = None) -> Waiting:
        """The engine's record of a task (not filed, not held): its scores and place in arrival order."""
        if spec.queue not in self.queues:
            raise RoutingError(f"unknown queue {spec.queue!r}; known: {', '.join(sorted(self.queues))}")
        policy = self.policy
        static = static_score(spec.base, spec.business_value, policy)
        urgent = urgent_from = None
        if spec.due_at is not None:
            hours_due = spec.due_at / 3600.0
            urgent = static + policy.urgency_per_hour * (policy.horizon_hours - hours_due)
            urgent_from = spec.due_at - policy.horizon_hours * 3600.0
        return Waiting(
            task_id=spec.task_id,
            queue=spec.queue,
            channel=self.queues[spec.queue].channel,
            needs=spec.needs,
            enqueued_at=spec.enqueued_at,
            seq=seq if seq is not None else next(self._seq),
            static=static,
            urgent=urgent,
            urgent_from=urgent_from,
            preferred=spec.preferred,
        )

    def withdraw(self, task_id: str, now: float) -> list[Action]:
        """Take a task out of routing wherever it is (cancel, transfer out, pause, reschedule)."""
        actions = self.advance(now)
        task = self.tasks.pop(task_id, None)
        if task is None:
            return actions
        state = task.state
        self.tally.move(task, "")
        if state == "waiting":
            self._unfile(task)
            return actions
        task.stamp = next(self._stamps)
        if state == "parked":
            self.parked[task.agent_id or ""].pop(task_id, None)
            return actions
        agent = self.agents[task.agent_id] if task.agent_id else None
        if agent is None:
            return actions
        if state != "assigned":
            actions.append(Revoke(task_id, agent.agent_id, "withdrawn", now))
        return actions + self._release(agent, task.channel, task.task_id, now)

    def accept(self, task_id: str, agent_id: str, now: float) -> list[Action]:
        """The agent accepted its offer (or started its claimed task): the task is assigned."""
        actions = self.advance(now)
        task = self._held_by(task_id, agent_id, ("offered", "claimed"))
        self.tally.move(task, "assigned")
        task.stamp = next(self._stamps)
        task.assigned_at = now
        return actions

    def reject(self, task_id: str, agent_id: str, now: float) -> list[Action]:
        """The agent turned the offer down: RONA, and the task goes back to its place."""
        actions = self.advance(now)
        task = self._held_by(task_id, agent_id, ("offered",))
        return actions + self._rona(task, self.agents[agent_id], "rejected", now)

    def refused(self, task_id: str, agent_id: str, now: float) -> list[Action]:
        """The reservation of a proposed offer failed (Redis said no): undo it and route again."""
        actions = self.advance(now)
        task = self.tasks.get(task_id)
        if task is None or task.agent_id != agent_id or task.state == "waiting":
            return actions
        return actions + self._give_back(task, self.agents[agent_id], "refused", now)

    def complete(self, task_id: str, agent_id: str, now: float) -> list[Action]:
        """The agent finished the task; its capacity is free now or after the queue's after-work time."""
        actions = self.advance(now)
        task = self._held_by(task_id, agent_id, ("assigned",))
        del self.tasks[task_id]
        self.tally.move(task, "")
        agent = self.agents[agent_id]
        agent.add_effort(now, max(0.0, now - task.assigned_at))
        after_work = self.queues[task.queue].after_work_seconds
        if after_work > 0:
            self._after_work[(agent_id, task_id)] = task.channel
            self._timer(now + after_work, AFTER_WORK, f"{agent_id}\x00{task_id}", 0)
            return actions
        return actions + self._release(agent, task.channel, task.task_id, now)

    # --------------------------------------------------------------- timers

    def advance(self, now: float) -> list[Action]:
        """Fire every timer due at `now`; returns what followed (RONA, re-offers, freed capacity)."""
        actions: list[Action] = []
        timers = self._timers
        first = timers.first()
        if first is None or first[0] > now:
            return actions
        while (first := timers.first()) is not None and first[0] <= now:
            at, _, kind, key, stamp = timers.pop()  # each timer acts at its own time, in order
            if kind == AFTER_WORK:
                agent_id, task_id = key.split("\x00")
                agent = self.agents.get(agent_id)
                if agent is not None and task_id in agent.tasks:
                    actions.append(CapacityFreed(agent_id, task_id, at))
                    actions += self._release(agent, self._after_work.pop((agent_id, task_id)), task_id, at)
                continue
            task = self.tasks.get(key)
            if task is None or task.stamp != stamp:
                continue
            if kind == PLACE:
                self._unfile(task)
                self._file(task, at)
                actions += self._route_task(task, at)
            elif kind == OFFER_TIMEOUT and task.agent_id is not None:
                actions += self._rona(task, self.agents[task.agent_id], "timeout", at)
            elif kind == CLAIM_TIMEOUT and task.agent_id is not None:
                actions += self._give_back(task, self.agents[task.agent_id], "claim_timeout", at)
        if len(timers) > 4 * len(self.tasks) + 4096:
            self._compact_timers()
        return actions

    def next_timer(self) -> float | None:
        """When the earliest pending timer is due (the service sleeps until then)."""
        first = self._timers.first()
        return None if first is None else first[0]

    # ------------------------------------------------------------ internals

    def _agent(self, agent_id: str) -> AgentState:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise RoutingError(f"unknown agent {agent_id!r}")
        return agent

    def _held_by(self, task_id: str, agent_id: str, states: Iterable[str]) -> Waiting:
        task = self.tasks.get(task_id)
        if task is None:
            raise RoutingError(f"unknown task {task_id!r}")
        if task.agent_id != agent_id or task.state not in states:
            holder = f"with agent {task.agent_id}" if task.agent_id else "waiting"
            raise RoutingError(f"task {task_id} is {task.state} {holder}, not {'/'.join(states)} with {agent_id}")
        return task

    def _route_agent(self, agent: AgentState, now: float) -> list[Action]:
        """Offer the agent the best tasks it may take until it is full or nothing fits.

        The free-agent sets are brought up to date once, after the last offer (nothing reads them in
        between); an agent offered nothing is left as it was.
        """
        actions: list[Action] = []
        if agent.presence is not READY:
            return actions
        while (task := self.best_push_task(agent, now)) is not None:
            policy = self.queues[task.queue]
            key = rank(agent, policy, task, now)
            actions.append(self._give(task, agent, now, score_of(key, policy.strategy), None))
        if actions:
            self._refresh(agent)
        return actions

    def _route_task(self, task: Waiting, now: float) -> list[Action]:
        """Offer a waiting task to the best free eligible agent of its queue, if any."""
        policy = self.queues[task.queue]
        if policy.mode is not PUSH or task.state != "waiting":
            return []
        if task.tier == -1:
            for agent_id in task.preferred:
                agent = self.agents.get(agent_id)
                if agent and agent.free_on(task.channel) and can_serve(agent.profile, task.needs, ANY_TIER):
                    return [self._offer(task, agent, now, 0.0)]
            return []
        tier = policy.tiers[task.tier]
        best: tuple[tuple[float, float, str], AgentState] | None = None
        for agent in self.available[task.queue].values():
            if not can_serve(agent.profile, task.needs, tier):
                continue
            key = rank(agent, policy, task, now)
            if best is None or key < best[0]:
                best = (key, agent)
        if best is None:
            return []
        return [self._offer(task, best[1], now, score_of(best[0], policy.strategy))]

    def _offer(self, task: Waiting, agent: AgentState, now: float, score: float, how: How | None = None) -> Offer:
        offer = self._give(task, agent, now, score, how)
        self._refresh(agent)
        return offer

    def _give(self, task: Waiting, agent: AgentState, now: float, score: float, how: How | None) -> Offer:
        """Hand the task to the agent (offer, claim or assignment); the caller refreshes the free-agent sets."""
        policy = self.queues[task.queue]
        kind: How = how or ("auto_answer" if agent.profile.auto_answer else "offer")
        tier = -2 if kind in ("force", "personal") else task.tier
        if task.state == "parked":
            self.parked[task.agent_id or ""].pop(task.task_id, None)
        self._unfile(task)
        self.tally.move(task, "offered" if kind == "offer" else ("claimed" if kind == "get_next" else "assigned"))
        task.agent_id = agent.agent_id
        task.assigned_at = now
        agent.load[task.channel] = agent.load.get(task.channel, 0) + 1
        agent.tasks.add(task.task_id)
        agent.last_offered_at = agent.idle_since = now
        if task.state == "offered":
            self._timer(now + policy.offer_timeout_seconds, OFFER_TIMEOUT, task.task_id, task.stamp)
        elif task.state == "claimed":
            self._timer(now + policy.claim_timeout_seconds, CLAIM_TIMEOUT, task.task_id, task.stamp)
        return Offer(task.task_id, agent.agent_id, task.queue, tier, STRATEGY_NAMES[policy.strategy], score, kind, now)

    def _rona(self, task: Waiting, agent: AgentState, reason: RevokeReason, now: float) -> list[Action]:
        """Redirect on no answer: the agent goes not ready (RONA) and the task goes back to its place."""
        agent.presence, agent.reason = Presence.NOT_READY, RONA
        revoke, *rest = self._give_back(task, agent, reason, now)
        return [revoke, AgentPaused(agent.agent_id, RONA, now), *rest]

    def _give_back(self, task: Waiting, agent: AgentState, reason: RevokeReason, now: float) -> list[Action]:
        """Take the task back from the agent and file it again with its wait clock untouched."""
        actions: list[Action] = [Revoke(task.task_id, agent.agent_id, reason, now)]
        self._free(agent, task.channel, task.task_id)
        self._file(task, now)
        actions += self._route_task(task, now)
        if reason != "refused":
            actions += self._route_agent(agent, now)
        return actions

    def _release(self, agent: AgentState, channel: str, task_id: str, now: float) -> list[Action]:
        """Free the agent's capacity for a task that is gone, and offer it the next one."""
        self._unload(agent, channel, task_id)
        agent.idle_since = now
        actions = self._route_agent(agent, now)  # brings the free-agent sets up to date when it offers
        if not actions:
            self._refresh(agent)
        return actions

    def _free(self, agent: AgentState, channel: str, task_id: str) -> None:
        self._unload(agent, channel, task_id)
        self._refresh(agent)

    def _unload(self, agent: AgentState, channel: str, task_id: str) -> None:
        if task_id in agent.tasks:
            agent.tasks.discard(task_id)
            agent.load[channel] = max(0, agent.load.get(channel, 0) - 1)
