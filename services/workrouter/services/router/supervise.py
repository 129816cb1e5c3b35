"""A supervisor's commands to the router (force-assign, reassign, park, take back), and the helpers every
handler of a domain's messages shares."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from workrouter.bus.port import PermanentError
from workrouter.config import live_agents
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import TaskParked, TaskUnassigned
from workrouter.domain.routing import pull
from workrouter.domain.routing.actions import Action, RoutingError
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile
from workrouter.services.router.announce import event_id
from workrouter.services.router.carry_out import DomainState, blended

log = logging.getLogger(__name__)


class Supervising(DomainState):
    """The supervisor's side of a domain's handlers (DomainRouter adds the tasks' and the agents')."""

    async def supervise(self, cmd: ac.SupervisorAssign, envelope: Envelope, now: float) -> None:
        """Force-assign (bypassing tiers, recorded as such; a held task is reassigned), park in the agent's
        personal workbin, or take a held task back to its queue."""
        self._need_agent(cmd.agent_id)
        entry = self.entries.get(cmd.task_id)
        task = self.engine.tasks.get(cmd.task_id)
        if cmd.supervisor.startswith("escalation") and (task is None or task.state != "waiting"):
            # the task left, or an agent got it, between the step and now: escalation does not take it away
            log.info("%s: %s of %s, which is not waiting here; ignored", self.domain, cmd.supervisor, cmd.task_id)
            return
        if entry is None:
            raise PermanentError(f"{cmd.action}: domain {self.domain} holds no task {cmd.task_id}")
        if cmd.action == "take_back" or (task is not None and task.state in pull.HELD):
            await self._take_back(cmd, entry, envelope, now)
            return
        if cmd.action == "park":
            await self.carry_out(self._engine(lambda: pull.park(self.engine, cmd.task_id, cmd.agent_id, now)), now)
            parked = TaskParked(
                task_id=cmd.task_id, workbin=f"personal:{cmd.agent_id}", agent_id=cmd.agent_id, by=cmd.supervisor
            )
            await self.announce.task(parked, now, eid=event_id(envelope.id, "parked"))  # then remember it
            await self._save(dataclasses.replace(entry, parked_for=cmd.agent_id))
            await self.announce.note(cmd.agent_id, "parked", entry, by=cmd.supervisor)
            return
        self.force_by[cmd.task_id] = cmd.supervisor
        try:
            actions = self._engine(lambda: pull.force_assign(self.engine, cmd.task_id, cmd.agent_id, now))
            if entry.parked_for is not None:
                await self._save(dataclasses.replace(entry, parked_for=None))
            await self.carry_out(actions, now)
        finally:
            self.force_by.pop(cmd.task_id, None)

    async def _take_back(self, cmd: ac.SupervisorAssign, entry: QueueEntry, envelope: Envelope, now: float) -> None:
        """Take the task from the agent holding it: back to its queue (take_back), or to `cmd.agent_id`
        (force_assign of a held task: reassigned). Announced first (TaskUnassigned for an assigned task,
        TaskOfferRevoked for an offer or claim), then released, then given. Ignored when there is nothing to
        take: the task is not held (any more), a take-back names another holder, or a reassignment names the
        holder itself (a redelivery after it was done); parking a held task is refused."""
        task = self.engine.tasks.get(cmd.task_id)
        holder = task.agent_id if task is not None and task.state in pull.HELD else None
        back = cmd.action == "take_back"
        if cmd.action == "park" and holder is not None:
            raise PermanentError(f"park: task {cmd.task_id} is held by {holder}; take it back first")
        if holder is None or (back and holder != cmd.agent_id) or (not back and holder == cmd.agent_id):
            log.info("%s: %s of %s, held by %s; ignored", self.domain, cmd.action, cmd.task_id, holder)
            return
        assert task is not None
        why = f"taken back by {cmd.supervisor}" if back else f"reassigned to {cmd.agent_id} by {cmd.supervisor}"
        was_assigned = task.state == "assigned"
        if back:
            actions = self._engine(lambda: pull.take_back(self.engine, cmd.task_id, now))
        else:
            actions = self._engine(lambda: pull.reassign(self.engine, cmd.task_id, cmd.agent_id, now))
        if was_assigned:  # an offer or claim is revoked by the engine's Revoke instead (TaskOfferRevoked)
            gone = TaskUnassigned(task_id=cmd.task_id, agent_id=holder, reason=why)
            await self.announce.task(gone, now, eid=event_id(envelope.id, "unassigned"))
        self.force_by[cmd.task_id] = cmd.supervisor
        try:
            await self.carry_out(actions, now)
        finally:
            self.force_by.pop(cmd.task_id, None)
        await self.announce.note(holder, "withdrawn", entry, reason=why)

    async def hand_to(self, cmd: ac.HandBackTask, now: float, envelope: Envelope) -> None:
        """The holder transfers its task to a named colleague: into the colleague's personal workbin (TaskParked
        by the holder), announced first (TaskUnassigned for an assigned task; an offer or claim is revoked)."""
        assert cmd.to_agent is not None
        entry = self.entries.get(cmd.task_id)
        task = self.engine.tasks.get(cmd.task_id)
        if entry is None or task is None:
            raise PermanentError(f"transfer: domain {self.domain} holds no task {cmd.task_id}")
        self._need_agent(cmd.to_agent)
        why = cmd.reason or f"transferred to {cmd.to_agent} by {cmd.agent_id}"
        was_assigned = task.state == "assigned"
        actions = self._engine(lambda: pull.hand_to(self.engine, cmd.task_id, cmd.to_agent or "", now))
        if was_assigned:
            gone = TaskUnassigned(task_id=cmd.task_id, agent_id=cmd.agent_id, reason=why)
            await self.announce.task(gone, now, eid=event_id(envelope.id, "unassigned"))
        parked = TaskParked(
            task_id=cmd.task_id, workbin=f"personal:{cmd.to_agent}", agent_id=cmd.to_agent, by=cmd.agent_id
        )
        await self.announce.task(parked, now, eid=event_id(envelope.id, "parked"))
        await self.carry_out(actions, now)  # the holder's hold released, then its next task offered
        await self._save(dataclasses.replace(entry, parked_for=cmd.to_agent))
        await self.announce.note(cmd.to_agent, "parked", entry, by=cmd.agent_id)
        await self.announce.note(cmd.agent_id, "withdrawn", entry, reason=why)

    async def change_agent(self, cmd: ac.ChangeAgent, envelope: Envelope, now: float) -> None:
        """A supervisor changed the agent in the live directory: apply what the directory says now (added,
        edited, queues switched, removed) to this domain's engine, with no restart. An agent with no queue
        of this domain any more keeps what it holds here and is given nothing new."""
        raw = await self.store.live_agent(cmd.agent_id)
        if raw is None:  # never changed live: as agents.yaml has it
            profile = self.base_config.agents.get(cmd.agent_id)
        else:
            entry = live_agents.decode({cmd.agent_id: raw})[cmd.agent_id]
            profile = None if entry is None else entry.to_profile(cmd.agent_id)
        self.apply_directory({cmd.agent_id: profile})
        if profile is not None and profile.queues & set(self.queues):
            await self.store.put_profile(profile)  # as the api did: the reservation script reads capacity there
            await self.carry_out(self.engine.put_agent(profile, now), now)
        elif cmd.agent_id in self.engine.agents:
            gone = dataclasses.replace(self.engine.agents[cmd.agent_id].profile, queues=frozenset())
            await self.carry_out(self.engine.put_agent(gone, now), now)
        else:
            return
        await self.carry_out(await self.resync(cmd.agent_id, now), now)  # presence (a removed agent is offline)
        log.info("%s: agent %s changed by %s: %s", self.domain, cmd.agent_id, cmd.by, profile or "removed")

    def apply_directory(self, changes: dict[str, AgentProfile | None]) -> None:
        """Apply live directory changes to this domain's view of the configuration (members, blended agents)."""
        agents = dict(self.config.agents)
        for agent_id, profile in changes.items():
            if profile is None:
                agents.pop(agent_id, None)
            else:
                agents[agent_id] = profile
        self.config = dataclasses.replace(self.config, agents=agents)
        self.others = blended(self.config, self.domain)

    # --------------------------------------------------------------- helpers

    @staticmethod
    def _engine(call: Callable[[], list[Action]]) -> list[Action]:
        """Run an engine call; a refusal is final (the message is dead-lettered with the reason)."""
        try:
            return call()
        except RoutingError as exc:
            raise PermanentError(str(exc)) from None

    def _need_agent(self, agent_id: str) -> None:
        if agent_id not in self.engine.agents:
            raise PermanentError(f"agent {agent_id!r} does not work in routing domain {self.domain!r} (agents.yaml)")

    async def _save(self, entry: QueueEntry) -> None:
        old = self.entries.get(entry.task_id)
        self.entries[entry.task_id] = entry
        await self.store.save_task(self.domain, entry.task_id, entry.to_json())
        await self.file(entry, old)
