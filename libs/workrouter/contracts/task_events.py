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

    source: str
    external_id: str
    type: str = Field(description="Work type.")
    title: str
    description: str | None = None
    url: str | None = None
    channel: str = "workitem"
    attributes: dict[str, Any] = Field(default_factory=dict)
    priority: int | None = None
    due_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    sla_seconds: int | None = None
    requested_agent: str | None = None


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

    queue: str
    domain: str = Field(description="Routing domain of the queue.")
    skills: list[SkillRequirement] = Field(default_factory=list)
    priority: int = Field(ge=0, le=1000, description="Base priority; see docs/prioritisation.md.")
    business_value: float = 0.0
    sla_seconds: int | None = None
    sla_calendar: str = "24x7"
    due_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    rule: str = Field(description="Id of the rule that decided (the last one applied).")
    rules: list[str] = Field(default_factory=list, description="Every rule that applied, in order.")
    ruleset_version: str
    channel: str = "workitem"
    url: str | None = None
    title: str = ""
    preferred_agents: list[str] = Field(default_factory=list, description="Agents tried first, best first.")
    captured_at: AwareDatetime | None = Field(
        default=None, description="When the task was captured (the router's capture-to-offer latency starts here)."
    )


class TaskUpdated(TaskEvent):
    """The source changed the task's details; carries the full new facts."""

    event_type = "workrouter.task.updated"

    changed: list[str] = Field(description="Names of the fields that changed.")
    title: str
    description: str | None = None
    url: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    priority: int | None = None
    due_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    sla_seconds: int | None = None


class TaskErrorHeld(TaskEvent):
    """The task waits for a supervisor or a fix: no rule could place it, or a service could not process an
    event about it (a poison hold: `service` and `dead_letter_id` say who gave up and where the original is)."""

    event_type = "workrouter.task.error_held"

    reason: str
    ruleset_version: str
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

    queue: str
    domain: str = Field(description="Routing domain that owns the queue.")
    priority: int
    sort_key: str = Field(description="Time-stable ordering key (see docs/prioritisation.md).")


class TaskOffered(TaskEvent):
    """The task is offered to one agent, who may accept or reject."""

    event_type = "workrouter.task.offered"

    offer_id: str
    agent_id: str
    queue: str
    tier: int = Field(ge=-2, description="Target tier the agent was chosen from (0 = primary, -1 = preferred agent).")
    strategy: str = Field(default="", description="The queue's strategy that chose the agent.")
    score: float = Field(default=0.0, description="The agent's score under the strategy (audit).")
    how: Literal["offer", "get_next"] = Field(default="offer", description="get_next: a claim to start in time.")
    url: str | None = None
    title: str = ""
    offer_expires_at: AwareDatetime


class TaskAccepted(TaskEvent):
    """The agent took the task; it is assigned."""

    event_type = "workrouter.task.accepted"

    offer_id: str | None = Field(default=None, description="None for pull claims and force-assign.")
    agent_id: str
    how: Literal["offer", "auto_answer", "pull", "get_next", "force", "personal"] = "offer"
    queue: str = ""
    tier: int = Field(default=0, ge=-2, description="Tier the agent was chosen from; -2 = tiers bypassed.")
    strategy: str = ""
    score: float = 0.0
    by: str | None = Field(default=None, description="The supervisor, for force-assign.")


class TaskOfferRevoked(TaskEvent):
    """An offer ended without acceptance; the task goes back to its place."""

    event_type = "workrouter.task.offer_revoked"

    offer_id: str
    agent_id: str
    reason: Literal["rona", "rejected", "cancelled", "agent_offline", "claim_timeout"]


class TaskUnassigned(TaskEvent):
    """The router took the task from the agent who had it assigned, because the task was cancelled, expired,
    completed by its source, paused, rescheduled or moved to another routing domain meanwhile. The agent's
    hold (and handle) ends here, even when the withdrawal's own event came first in the task's history
    (a source's cancel and an agent's claim or acceptance can cross)."""

    event_type = "workrouter.task.unassigned"

    agent_id: str
    reason: str = Field(max_length=200, description="What took the task away: cancelled, expired, completed, ...")


class TaskParked(TaskEvent):
    """The task waits in a workbin (a queue's, or an agent's personal one)."""

    event_type = "workrouter.task.parked"

    workbin: str
    agent_id: str | None = None
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
    reason: str
    raise_by: int = Field(default=0, ge=0, description="Points added by this step.")
    step: str | None = Field(default=None, description="The reprioritisation step, e.g. 'reprioritise:std:24h'.")


class TaskRescheduled(TaskWithdrawn):
    """The task sleeps until a time, then re-enters routing."""

    event_type = "workrouter.task.rescheduled"

    wake_at: AwareDatetime
    by: Literal["source", "agent", "supervisor"] = "source"


class TaskWrapUpStarted(TaskEvent):
    """The agent finished the work and is in after-call work."""

    event_type = "workrouter.task.wrap_up_started"

    agent_id: str
    wrap_up_code: str | None = None
    after_work_seconds: float = Field(default=0.0, ge=0, description="Capacity is held this long after.")


class TaskPaused(TaskWithdrawn):
    """The task is out of distribution until resumed."""

    event_type = "workrouter.task.paused"

    by: Literal["source", "supervisor"]
    reason: str | None = None


class TaskResumed(TaskEvent):
    """A paused or scheduled task comes back and is classified again."""

    event_type = "workrouter.task.resumed"

    by: Literal["source", "supervisor", "timer"]
    wake_at: AwareDatetime | None = Field(default=None, description="The time it was rescheduled to (timer).")


class TaskCompleted(TaskWithdrawn):
    """Work on the task is finished."""

    event_type = "workrouter.task.completed"

    by: Literal["agent", "source", "supervisor"]
    agent_id: str | None = None
    wrap_up_code: str | None = None


class TaskCancelled(TaskWithdrawn):
    """The task was withdrawn before completion."""

    event_type = "workrouter.task.cancelled"

    by: Literal["source", "supervisor", "system"]
    reason: str


class TaskExpired(TaskWithdrawn):
    """The task passed its expiry time without completion."""

    event_type = "workrouter.task.expired"

    expired_at: AwareDatetime


def withdrawal_types() -> frozenset[str]:
    """The wire types of every TaskWithdrawn event."""
    return frozenset(c.event_type for c in TaskWithdrawn.__subclasses__())


# Out of routing: withdrawn, or held (no rule places it, or a service gave up on an event about it, D13).
OUT_OF_ROUTING: tuple[type[TaskEvent], ...] = (TaskWithdrawn, TaskErrorHeld)
