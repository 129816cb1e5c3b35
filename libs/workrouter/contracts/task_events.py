"""Task lifecycle events on `wr.tasks` (key: task id), named in the past tense."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from workrouter.contracts.common import FieldError, SkillRequirement
from workrouter.contracts.envelope import Payload


class TaskEvent(Payload):
    """Base of every event about one task."""

    task_id: str = Field(min_length=1, description="workrouter's id of the task.")


class TaskWithdrawn(TaskEvent):
    """Base of the events that take a task out of routing wherever it is: it ended (completed, cancelled,
    expired) or sleeps (paused, rescheduled). The prioritiser forwards each to the router that has the task,
    which withdraws it (`OUT_OF_ROUTING` adds the hold)."""


class TaskCaptured(TaskEvent):
    """A valid work item was accepted from a source system."""

    event_type = "workrouter.task.captured"

    source: str = Field(description="Source system that sent the item (its name in sources.yaml).")
    external_id: str = Field(description="The source's own id of the item; task_id is derived from source and it.")
    type: str = Field(description="Work type.")
    title: str = Field(description="Short human title.")
    description: str | None = Field(default=None, description="Longer text; None when the source gave none.")
    url: str | None = Field(default=None, description="Work item URL for the screen pop (http or https); None: none.")
    channel: str = Field(default="workitem", description="Media/channel: which of an agent's capacities it uses.")
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Free metadata from the source; rules read it as attributes.<key>."
    )
    priority: int | None = Field(default=None, description="The source's priority (0-1000); None: the rules decide.")
    due_at: AwareDatetime | None = Field(default=None, description="The source's due time; None: the rules decide.")
    expires_at: AwareDatetime | None = Field(
        default=None, description="The source's expiry time; None: the rules decide."
    )
    sla_seconds: int | None = Field(default=None, description="The source's SLA in seconds; None: the rules decide.")
    requested_agent: str | None = Field(
        default=None, description="Agent the source asks for, offered the task first; None: any agent."
    )


class TaskRejected(Payload):
    """A work item was refused at capture; nothing was created."""

    event_type = "workrouter.task.rejected"

    source: str | None = Field(default=None, description="Source, when it could be read.")
    external_id: str | None = Field(default=None, description="External id, when it could be read.")
    errors: list[FieldError] = Field(min_length=1, description="Every problem found.")
    original: str = Field(description="The refused input, as text (truncated to 64 KiB).")


class TaskClassified(TaskEvent):
    """The rules decided queue, skills, priority and times."""

    event_type = "workrouter.task.classified"

    queue: str = Field(description="Queue the task goes to: the rules', the source's chosen one, or a reclassify's.")
    domain: str = Field(description="Routing domain of the queue.")
    skills: list[SkillRequirement] = Field(
        default_factory=list, description="Skills an agent needs for it, with minimum levels; empty: none."
    )
    priority: int = Field(ge=0, le=1000, description="Base priority; see docs/prioritisation.md.")
    business_value: float = Field(default=0.0, description="Business value from the rules; raises the priority score.")
    sla_seconds: int | None = Field(
        default=None, description="SLA in seconds: the source's, else the rules'; None: no SLA."
    )
    sla_calendar: str = Field(
        default="24x7", description="Calendar the SLA counts in (calendars.yaml); 24x7 counts calendar time."
    )
    due_at: AwareDatetime | None = Field(
        default=None, description="Due time: the source's, else the rules' or capture + SLA; None: no due time."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="Expiry time: the source's, else the rules'; None: it never expires."
    )
    rule: str = Field(description="Id of the rule that decided (the last one applied).")
    rules: list[str] = Field(default_factory=list, description="Every rule that applied, in order.")
    ruleset_version: str = Field(description="Version of the rule set that decided (its `version`, else sha256:...).")
    channel: str = Field(default="workitem", description="Media/channel from capture.")
    url: str | None = Field(default=None, description="Work item URL for the screen pop; None: none.")
    title: str = Field(default="", description="Short human title from capture.")
    preferred_agents: list[str] = Field(default_factory=list, description="Agents tried first, best first.")
    captured_at: AwareDatetime | None = Field(
        default=None, description="When the task was captured (the router's capture-to-offer latency starts here)."
    )


class TaskUpdated(TaskEvent):
    """The source changed the task's details; carries the full new facts."""

    event_type = "workrouter.task.updated"

    changed: list[str] = Field(description="Names of the fields that changed.")
    title: str = Field(description="Title after the change.")
    description: str | None = Field(default=None, description="Longer text after the change; None: none.")
    url: str | None = Field(default=None, description="Work item URL after the change; None: none.")
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="All attributes after the change (the update's keys merged in)."
    )
    priority: int | None = Field(
        default=None, description="The source's priority after the change; None: the rules decide."
    )
    due_at: AwareDatetime | None = Field(
        default=None, description="The source's due time after the change; None: the rules decide."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="The source's expiry time after the change; None: the rules decide."
    )
    sla_seconds: int | None = Field(
        default=None, description="The source's SLA in seconds after the change; None: the rules decide."
    )


class TaskErrorHeld(TaskEvent):
    """The task waits for a supervisor or a fix: no rule could place it, or a service could not process an
    event about it (a poison hold: `service` and `dead_letter_id` say who gave up and where the original is)."""

    event_type = "workrouter.task.error_held"

    reason: str = Field(description="Why it is held, in words an operator can act on.")
    ruleset_version: str = Field(description="Version of the prioritiser's rule set when it was held.")
    service: str | None = Field(
        default=None, description="Consumer group that could not process an event about the task; None: the rules."
    )
    dead_letter_id: str | None = Field(
        default=None, description="Id of the wr.deadletter event that keeps the original message."
    )
    failed_topic: str | None = Field(default=None, description="Topic of the message that could not be processed.")
    failed_type: str | None = Field(default=None, description="Event type of that message, when it could be read.")
    error_type: str | None = Field(default=None, description="decode, rejected, or the exception class.")


class TaskQueued(TaskEvent):
    """The task waits in a queue."""

    event_type = "workrouter.task.queued"

    queue: str = Field(description="Queue the task waits in.")
    domain: str = Field(description="Routing domain that owns the queue.")
    priority: int = Field(description="Base priority as classified (0-1000), before value and urgency.")
    sort_key: str = Field(description="Time-stable ordering key (see docs/prioritisation.md).")


class TaskOffered(TaskEvent):
    """The task is offered to one agent, who may accept or reject."""

    event_type = "workrouter.task.offered"

    offer_id: str = Field(description="Id of this offer or get-next claim; the agent's answer names it.")
    agent_id: str = Field(description="Agent the task is offered to.")
    queue: str = Field(description="Queue the task is offered from.")
    tier: int = Field(ge=-2, description="Target tier the agent was chosen from (0 = primary, -1 = preferred agent).")
    strategy: str = Field(default="", description="The queue's strategy that chose the agent.")
    score: float = Field(default=0.0, description="The agent's score under the strategy (audit).")
    how: Literal["offer", "get_next"] = Field(default="offer", description="get_next: a claim to start in time.")
    url: str | None = Field(default=None, description="Work item URL for the screen pop; None: none.")
    title: str = Field(default="", description="Short human title, for the agent's desktop.")
    offer_expires_at: AwareDatetime = Field(
        description="When an unanswered offer is revoked (RONA), or an unstarted get-next claim given back."
    )


class TaskAccepted(TaskEvent):
    """The agent took the task; it is assigned."""

    event_type = "workrouter.task.accepted"

    offer_id: str | None = Field(default=None, description="None for pull claims and force-assign.")
    agent_id: str = Field(description="Agent the task is assigned to.")
    how: Literal["offer", "auto_answer", "pull", "get_next", "force", "personal"] = Field(
        default="offer",
        description="offer: accepted; auto_answer: the agent's offers need no click; pull: claimed from a "
        "workbin; get_next: a get-next claim started; force: a supervisor's force-assign; personal: claimed "
        "from the agent's personal workbin.",
    )
    queue: str = Field(default="", description="Queue the task was assigned from.")
    tier: int = Field(default=0, ge=-2, description="Tier the agent was chosen from; -2 = tiers bypassed.")
    strategy: str = Field(
        default="",
        description="The queue's strategy that chose the agent; empty for an answered offer or a "
        "started get-next claim (their TaskOffered has it).",
    )
    score: float = Field(default=0.0, description="The agent's score under the strategy (audit); 0 when none.")
    by: str | None = Field(default=None, description="The supervisor, for force-assign.")


class TaskOfferRevoked(TaskEvent):
    """An offer ended without acceptance; the task goes back to its place."""

    event_type = "workrouter.task.offer_revoked"

    offer_id: str = Field(description="Id of the offer or claim that ended (from its TaskOffered).")
    agent_id: str = Field(description="Agent it was offered to.")
    reason: Literal["rona", "rejected", "cancelled", "agent_offline", "claim_timeout", "taken_back"] = Field(
        description="rona: not answered in time; rejected: the agent said no; cancelled: the task was withdrawn; "
        "agent_offline: the agent logged out; claim_timeout: a get-next claim was not started in time; "
        "taken_back: a supervisor took the task back or gave it to another agent."
    )


class TaskUnassigned(TaskEvent):
    """The router took the task from the agent who had it assigned, because the task was cancelled, expired,
    completed by its source, paused, rescheduled or moved to another routing domain meanwhile, or a
    supervisor took it back or gave it to another agent. The agent's
    hold (and handle) ends here, even when the withdrawal's own event came first in the task's history
    (a source's cancel and an agent's claim or acceptance can cross)."""

    event_type = "workrouter.task.unassigned"

    agent_id: str = Field(description="Agent who had the task assigned and no longer has it.")
    reason: str = Field(max_length=200, description="What took the task away: cancelled, expired, completed, ...")


class TaskParked(TaskEvent):
    """The task waits in a workbin (a queue's, or an agent's personal one)."""

    event_type = "workrouter.task.parked"

    workbin: str = Field(description="Workbin it waits in, e.g. personal:<agent id>.")
    agent_id: str | None = Field(default=None, description="Owner of the personal workbin; None: a queue's workbin.")
    by: str | None = Field(default=None, description="The supervisor who parked it.")


class TaskEscalated(TaskEvent):
    """The task neared or missed its SLA/OLA and an escalation step ran."""

    event_type = "workrouter.task.escalated"

    step: str = Field(description="The step that fired, e.g. 'sla:standard:80%' or 'ola:technical:12h'.")
    actions: list[str] = Field(
        description="What was done: alert, raise_priority, move_queue, park, or flag (the agent keeps it)."
    )
    target_queue: str | None = Field(default=None, description="The queue it was moved to (move_queue).")
    workbin: str | None = Field(default=None, description="The agent whose personal workbin it went to (park).")
    raise_by: int = Field(default=0, ge=0, description="Priority points added to its base priority.")
    level: Literal["info", "warning", "critical"] = Field(default="warning", description="Alert severity.")
    agent_id: str | None = Field(default=None, description="The agent who has it open (flag).")
    due_at: AwareDatetime | None = Field(default=None, description="When the step was due (lateness = time - due).")


class TaskReprioritised(TaskEvent):
    """The task's priority changed."""

    event_type = "workrouter.task.reprioritised"

    priority: int = Field(description="Base priority after the change (before the due-date urgency).")
    reason: str = Field(description="Why, in words, e.g. 'due within 24h'.")
    raise_by: int = Field(default=0, ge=0, description="Points added by this step.")
    step: str | None = Field(default=None, description="The reprioritisation step, e.g. 'reprioritise:std:24h'.")


class TaskRescheduled(TaskWithdrawn):
    """The task sleeps until a time, then re-enters routing."""

    event_type = "workrouter.task.rescheduled"

    wake_at: AwareDatetime = Field(description="When the task comes back into routing.")
    by: Literal["source", "agent", "supervisor"] = Field(
        default="source",
        description="Who rescheduled it: the source, or the agent who had it; supervisor is reserved (none sent yet).",
    )
    agent_id: str | None = Field(default=None, description="The agent who rescheduled it (by agent).")
    reason: str = Field(default="", max_length=500, description="Why, as the agent gave it (empty: none given).")


class TaskWrapUpStarted(TaskEvent):
    """The agent finished the work and is in after-call work."""

    event_type = "workrouter.task.wrap_up_started"

    agent_id: str = Field(description="Agent in after-call work on the task.")
    wrap_up_code: str | None = Field(default=None, description="Wrap-up code id from codes.yaml; None: none given.")
    after_work_seconds: float = Field(default=0.0, ge=0, description="Capacity is held this long after.")


class TaskPaused(TaskWithdrawn):
    """The task is out of distribution until resumed."""

    event_type = "workrouter.task.paused"

    by: Literal["source", "supervisor"] = Field(
        description="Who paused it: source (its pause command); supervisor is reserved (none sent yet)."
    )
    reason: str | None = Field(default=None, description="Why, for the task history; None: none given.")


class TaskResumed(TaskEvent):
    """A paused or scheduled task comes back and is classified again."""

    event_type = "workrouter.task.resumed"

    by: Literal["source", "supervisor", "timer"] = Field(
        description="Who brought it back: source (its resume command) or timer (a rescheduled task woke); "
        "supervisor is reserved (none sent yet)."
    )
    wake_at: AwareDatetime | None = Field(default=None, description="The time it was rescheduled to (timer).")


class TaskCompleted(TaskWithdrawn):
    """Work on the task is finished."""

    event_type = "workrouter.task.completed"

    by: Literal["agent", "source", "supervisor"] = Field(
        description="Who finished it: the agent who had it, or the source (its complete command); supervisor is "
        "reserved (none sent yet)."
    )
    agent_id: str | None = Field(default=None, description="Agent who completed it; None when the source did.")
    wrap_up_code: str | None = Field(default=None, description="Wrap-up code id from codes.yaml; None: none given.")


class TaskCancelled(TaskWithdrawn):
    """The task was withdrawn before completion."""

    event_type = "workrouter.task.cancelled"

    by: Literal["source", "supervisor", "system"] = Field(
        description="Who cancelled it: source (its cancel command); supervisor and system are reserved (none sent yet)."
    )
    reason: str = Field(description="Why, for the task history.")


class TaskExpired(TaskWithdrawn):
    """The task passed its expiry time without completion."""

    event_type = "workrouter.task.expired"

    expired_at: AwareDatetime = Field(description="The expiry time it passed (its expires_at).")


def withdrawal_types() -> frozenset[str]:
    """The wire types of every TaskWithdrawn event."""
    return frozenset(c.event_type for c in TaskWithdrawn.__subclasses__())


# Out of routing: withdrawn, or held (no rule places it, or a service gave up on an event about it, D13).
OUT_OF_ROUTING: tuple[type[TaskEvent], ...] = (TaskWithdrawn, TaskErrorHeld)
