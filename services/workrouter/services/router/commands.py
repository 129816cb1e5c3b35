"""What the router does with each message on `wr.routing`, for the domain it owns (state in Redis first)."""

from __future__ import annotations

import dataclasses
import logging

from workrouter.bus.port import PermanentError
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.commands import ReclassifyTask
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.task_events import (
    TaskAccepted,
    TaskClassified,
    TaskCompleted,
    TaskQueued,
    TaskRescheduled,
    TaskUnassigned,
    TaskWrapUpStarted,
)
from workrouter.domain.routing.actions import Offer, Revoke
from workrouter.domain.routing.adopt import adopt, start
from workrouter.domain.routing.entry import QueueEntry, tier_at
from workrouter.domain.routing.holds import HELD_STATE
from workrouter.domain.routing.model import Presence, needs
from workrouter.services.router.announce import event_id
from workrouter.services.router.carry_out import ended_id
from workrouter.services.router.supervise import Supervising

log = logging.getLogger(__name__)


class DomainRouter(Supervising):
    """Handles the domain's classified tasks, withdrawals and agent and supervisor commands."""

    # ------------------------------------------------------------------ tasks

    async def classified(self, data: TaskClassified, envelope: Envelope, now: float) -> None:
        """Queue a classified task, or re-file a waiting one with its new facts."""
        if data.domain != self.domain:  # classified into another domain: it leaves this one
            eid = event_id(envelope.id, self.domain, "unassigned")
            await self.withdraw(data.task_id, f"moved to domain {data.domain}", now, eid)
            return
        if data.queue not in self.queues:
            raise PermanentError(f"queue {data.queue!r} is not in routing domain {self.domain!r} (queues.yaml)")
        if await self.is_retired(ended_id(data.task_id)):
            log.info("%s: %s of %s, which is over already; ignored", self.domain, envelope.id, data.task_id)
            return
        old = self.entries.get(data.task_id)
        if old is not None and old.classified_id == envelope.id:
            return  # redelivered
        if await self.is_retired(envelope.id):  # redelivered after the task ended or was re-filed
            log.info("%s: %s of %s was finished with already; ignored", self.domain, envelope.id, data.task_id)
            return
        same_queue = old is not None and old.queue == data.queue
        entry = QueueEntry(
            task_id=data.task_id,
            queue=data.queue,
            domain=self.domain,
            channel=self.queues[data.queue].channel,
            needs=needs([(s.skill, s.min_level) for s in data.skills]),
            base=data.priority,
            business_value=data.business_value,
            due_at=data.due_at.timestamp() if data.due_at else None,
            enqueued_at=old.enqueued_at if old is not None and same_queue else envelope.time.timestamp(),
            seq=old.seq if old is not None else self._seq(),
            preferred=tuple(data.preferred_agents),
            url=data.url,
            title=data.title,
            classified_id=envelope.id,
            captured_at=data.captured_at.timestamp() if data.captured_at else None,
        )
        task = self.engine.tasks.get(data.task_id)
        if task is not None and task.state not in ("waiting",):
            # held or parked: keep it where it is; the new facts apply if it comes back to the queue
            entry = dataclasses.replace(entry, parked_for=old.parked_for if old else None)
            await self._save(entry)
            await self.retire(old, now)
            return
        await self._save(entry)
        await self.retire(old, now)  # after the new entry is saved: a crash in between keeps the task queued
        waiting = self.engine.waiting(entry.spec(), entry.seq)
        sort_key = f"static={waiting.static:.3f};urgent={waiting.urgent};since={entry.enqueued_at:.3f};seq={entry.seq}"
        queued = TaskQueued(
            task_id=data.task_id, queue=data.queue, domain=self.domain, priority=data.priority, sort_key=sort_key
        )
        await self.announce.task(queued, now, eid=event_id(envelope.id, "queued"))
        self.metrics.queued(data.queue)
        if not same_queue:
            self.metrics.entered_queue(data.task_id)
        await self.carry_out(self.engine.enqueue(entry.spec(), now), now)

    async def withdraw(
        self, task_id: str, why: str, now: float, eid: str | None = None, *, ended: bool = False
    ) -> None:
        """Cancelled, completed by its source, paused, rescheduled, expired or held: out of routing, hold released.

        With `eid` (a withdrawal from elsewhere, not the agent's own hand-back), an agent who had the task
        assigned hears it in a TaskUnassigned: announced first, so a crash before the release repeats it.
        """
        task = self.engine.tasks.get(task_id)
        if eid is not None and task is not None and task.state == "assigned" and task.agent_id is not None:
            gone = TaskUnassigned(task_id=task_id, agent_id=task.agent_id, reason=why)
            await self.announce.task(gone, now, eid=eid)
        actions = self.engine.withdraw(task_id, now)
        held = await self.store.holder(task_id)  # Redis may know of a claim the router has not heard of yet
        if held is not None:
            self.changed_agent(held.agent_id, now)
        revoked = [a for a in actions if isinstance(a, Revoke) and a.task_id == task_id]
        await self.carry_out(revoked, now)  # its offer revoked (announced, then released) before it is retired
        await self.retire(self.entries.get(task_id), now)  # a rebuild from here on drops it
        if ended:
            await self.end(task_id, now)
        # Release in Redis before carrying out what the engine did next: it may give the freed agent its next
        # task at once, and a reservation that still saw this hold would be refused and re-adopt the task.
        if held is not None:
            await self.store.release(task_id, held.agent_id, now)  # its task ended: the idle clock restarts
        await self.carry_out([a for a in actions if a not in revoked], now)
        if held is not None:
            await self.announce.note(held.agent_id, "withdrawn", self.entries.get(task_id), reason=why)
        await self.forget(task_id)

    # ----------------------------------------------------------------- agents

    async def presence(self, cmd: ac.ChangePresence, envelope: Envelope, now: float) -> None:
        """The agent logged in or out or changed its reason (Redis has it already): follow, announce."""
        self._need_agent(cmd.agent_id)
        actions = self.engine.set_presence(cmd.agent_id, Presence(cmd.presence), cmd.reason, now)
        await self.carry_out(actions, now)
        eid = event_id(envelope.id, "presence")
        await self.announce.presence(cmd.agent_id, cmd.presence, cmd.reason, now, eid)
        await self.carry_out(await self.resync(cmd.agent_id, now), now)

    async def answer(self, cmd: ac.AnswerOffer, envelope: Envelope, now: float) -> None:
        """Accept: assigned. Reject: RONA, and the task goes back to its place."""
        if self.offers.get(cmd.task_id) != cmd.offer_id:
            log.info("%s: answer to offer %s of %s, which is no longer open", self.domain, cmd.offer_id, cmd.task_id)
            return
        if not cmd.accept:
            await self.carry_out(self._engine(lambda: self.engine.reject(cmd.task_id, cmd.agent_id, now)), now)
            return
        await self.carry_out(self._engine(lambda: self.engine.accept(cmd.task_id, cmd.agent_id, now)), now)
        entry = self.entries[cmd.task_id]
        accepted = TaskAccepted(
            task_id=cmd.task_id, offer_id=cmd.offer_id, agent_id=cmd.agent_id, how="offer", queue=entry.queue
        )
        # Announce, then remember (as in every handler here): after a crash in between, the redelivered
        # answer finds the offer still open in Redis and announces the same event again.
        await self.announce.task(accepted, now, eid=event_id(envelope.id, "accepted"))
        await self.store.convert(cmd.task_id, cmd.agent_id, "assign")
        self.offers.pop(cmd.task_id, None)
        self.metrics.assigned(entry.queue, "offer", entry.enqueued_at, now)
        await self.announce.note(cmd.agent_id, "assigned", entry, how="offer")

    async def finish(self, cmd: ac.FinishTask, envelope: Envelope, now: float) -> None:
        """Completed with a wrap-up code; capacity is free now or after the queue's after-work time."""
        if cmd.wrap_up_code is not None and cmd.wrap_up_code not in self.config.wrap_up_codes:
            known = ", ".join(sorted(self.config.wrap_up_codes))
            raise PermanentError(f"unknown wrap-up code {cmd.wrap_up_code!r}; known: {known}")
        entry = self.entries.get(cmd.task_id)
        task = self.engine.tasks.get(cmd.task_id)
        if entry is None or task is None or task.state != "assigned" or task.agent_id != cmd.agent_id:
            log.info(
                "%s: %s finished %s, which it does not hold assigned; ignored", self.domain, cmd.agent_id, cmd.task_id
            )
            return
        after = self.queues[entry.queue].after_work_seconds
        actions = self.engine.complete(cmd.task_id, cmd.agent_id, now)
        if after > 0:
            wrap = TaskWrapUpStarted(
                task_id=cmd.task_id, agent_id=cmd.agent_id, wrap_up_code=cmd.wrap_up_code, after_work_seconds=after
            )
            await self.announce.task(wrap, now, eid=event_id(envelope.id, "wrap_up"))
        done = TaskCompleted(task_id=cmd.task_id, by="agent", agent_id=cmd.agent_id, wrap_up_code=cmd.wrap_up_code)
        await self.announce.task(done, now, eid=event_id(envelope.id, "completed"))  # then remember it
        await self.end(cmd.task_id, now)
        if after > 0:
            await self.carry_out(actions, now)
            await self._save(dataclasses.replace(entry, after_work_until=now + after))
        else:  # capacity is free now: release in Redis before the engine's next offer to this agent is reserved
            await self.let_go(cmd.task_id, cmd.agent_id, now)
            await self.carry_out(actions, now)
        await self.announce.note(cmd.agent_id, "completed", entry, wrap_up_code=cmd.wrap_up_code)

    async def hand_back(self, cmd: ac.HandBackTask, envelope: Envelope, now: float) -> None:
        """Transfer, reclassify or reschedule the agent's task: out of this queue, history kept on `wr.tasks`."""
        task = self.engine.tasks.get(cmd.task_id)
        if task is None or task.agent_id != cmd.agent_id or task.state not in ("assigned", "claimed", "offered"):
            log.info("%s: %s handed back %s, which it does not hold; ignored", self.domain, cmd.agent_id, cmd.task_id)
            return
        if cmd.action == "transfer" and cmd.to_agent is not None:
            await self.hand_to(cmd, now, envelope)
            return
        if cmd.action == "transfer" and cmd.queue not in self.config.queues:
            raise PermanentError(f"unknown queue {cmd.queue!r} to transfer {cmd.task_id} to")
        if cmd.action == "reschedule" and cmd.wake_at is None:
            raise PermanentError("a reschedule needs wake_at")
        reason = cmd.reason or f"{cmd.action} by agent {cmd.agent_id}"
        if cmd.action == "reschedule":
            assert cmd.wake_at is not None
            later = TaskRescheduled(
                task_id=cmd.task_id, wake_at=cmd.wake_at, by="agent", agent_id=cmd.agent_id, reason=cmd.reason
            )
            await self.announce.task(later, now, eid=event_id(envelope.id, "rescheduled"))
        else:  # the prioritiser's answer comes on wr.routing, after this message: the task is withdrawn by then
            again = ReclassifyTask(
                task_id=cmd.task_id,
                reason=reason,
                queue=cmd.queue if cmd.action == "transfer" else None,
                by=cmd.agent_id,
            )
            await self.announce.command(again, cmd.task_id, now, event_id(envelope.id, "reclassify"))
        await self.withdraw(cmd.task_id, cmd.action, now)  # announced first: a redelivery after a crash repeats it

    async def claimed(self, cmd: ac.TaskClaimed, envelope: Envelope, now: float) -> None:
        """The api reserved a pull task for the agent in Redis: the engine follows, the world hears."""
        entry = self.entries.get(cmd.task_id)
        holder = await self.store.holder(cmd.task_id)
        if holder is None or holder.agent_id != cmd.agent_id:
            log.info("%s: claim of %s by %s is no longer held; ignored", self.domain, cmd.task_id, cmd.agent_id)
            return
        if entry is None:  # the claim raced a withdrawal: the task is gone, give the agent its capacity back
            log.info("%s: %s claimed %s after it left the queue; hold released", self.domain, cmd.agent_id, cmd.task_id)
            await self.store.release(cmd.task_id, cmd.agent_id)
            await self.announce.note(cmd.agent_id, "withdrawn", None, task_id=cmd.task_id, reason="gone")
            return
        self._need_agent(cmd.agent_id)
        self.changed_agent(cmd.agent_id, now)  # the api's reservation: the agent's other domains count it
        if entry.parked_for is not None:
            entry = dataclasses.replace(entry, parked_for=None)
            await self._save(entry)
        await self.carry_out(
            adopt(self.engine, entry.spec(), cmd.agent_id, HELD_STATE[holder.kind], since=holder.since, now=now), now
        )
        # the tier the task had reached when the api reserved it (the engine's may be stale: a claim made
        # while no router owned the domain is adopted by the rebuild, which does not file the task)
        tier = tier_at(entry, self.queues[entry.queue], holder.since)
        offer = Offer(
            cmd.task_id,
            cmd.agent_id,
            entry.queue,
            tier,
            self.queues[entry.queue].strategy.value,
            0.0,
            cmd.how,
            holder.since,
        )
        await self.announce_hold(entry, offer, holder.since, eid=event_id(envelope.id, "claimed"))
        self.metrics.gave(
            cmd.task_id, entry.queue, cmd.how, entry.enqueued_at, holder.since, captured_at=entry.captured_at
        )

    async def started(self, cmd: ac.StartTask, envelope: Envelope, now: float) -> None:
        """The agent started its get-next claim before the timeout: assigned."""
        await self.carry_out(self._engine(lambda: start(self.engine, cmd.task_id, cmd.agent_id, now)), now)
        entry = self.entries[cmd.task_id]
        accepted = TaskAccepted(
            task_id=cmd.task_id, offer_id=self.offers.get(cmd.task_id), agent_id=cmd.agent_id, how="get_next",
            queue=entry.queue,
        )  # fmt: skip
        await self.announce.task(accepted, now, eid=event_id(envelope.id, "accepted"))  # then remember it
        await self.store.convert(cmd.task_id, cmd.agent_id, "assign")
        self.offers.pop(cmd.task_id, None)
        self.metrics.assigned(entry.queue, "get_next", entry.enqueued_at, now)

    async def sync(self, cmd: ac.SyncAgent, envelope: Envelope, now: float) -> None:
        """Another domain's router changed this blended agent (decisions D21): read its presence and holds
        from Redis again; the other domain's holds count against its capacity here as foreign holds."""
        if cmd.agent_id not in self.engine.agents:
            log.info(
                "%s: sync of %s from %s, who does not work here; ignored", self.domain, cmd.agent_id, cmd.from_domain
            )
            return
        await self.carry_out(await self.resync(cmd.agent_id, now), now)

    def _seq(self) -> int:
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        return seq
