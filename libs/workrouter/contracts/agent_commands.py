"""Commands from agents and supervisors to the router, on `wr.routing` (key: routing domain).

They share the topic (and so the partition and order) with the domain's classified tasks, so the one
router instance that owns a domain sees every task and every agent action of it, in order. What the
router did about them comes out as facts: task events on `wr.tasks`, presence on `wr.agents`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workrouter.contracts.common import Timestamp
from workrouter.contracts.envelope import Payload

Presence = Literal["offline", "ready", "not_ready"]


class AgentCommand(Payload):
    """Base of every agent or supervisor command."""

    agent_id: str = Field(min_length=1, description="The agent acting, or acted upon.")
    domain: str = Field(min_length=1, description="Routing domain of the agent (the message key).")


class ChangePresence(AgentCommand):
    """Log in (ready / not ready), log out (offline), or change the not-ready reason.

    The api has already written the presence to Redis (claims read it there); the router brings its
    own view in line and announces `AgentPresenceChanged` on `wr.agents`.
    """

    event_type = "workrouter.command.change_presence"

    presence: Presence
    reason: str | None = Field(default=None, description="Not-ready reason id from codes.yaml.")


class AnswerOffer(AgentCommand):
    """The agent accepts or rejects a task offered to it. A reject is a RONA."""

    event_type = "workrouter.command.answer_offer"

    task_id: str = Field(min_length=1)
    offer_id: str = Field(min_length=1)
    accept: bool


class FinishTask(AgentCommand):
    """The agent completed its task, with a wrap-up code from codes.yaml."""

    event_type = "workrouter.command.finish_task"

    task_id: str = Field(min_length=1)
    wrap_up_code: str | None = Field(default=None, max_length=64)


class HandBackTask(AgentCommand):
    """The agent gives its task away: to another queue (transfer), to the rules (reclassify), or to later."""

    event_type = "workrouter.command.hand_back_task"

    task_id: str = Field(min_length=1)
    action: Literal["transfer", "reclassify", "reschedule"]
    queue: str | None = Field(default=None, description="Target queue of a transfer.")
    wake_at: Timestamp | None = Field(default=None, description="When a rescheduled task comes back.")
    reason: str = Field(default="", max_length=500)


class TaskClaimed(AgentCommand):
    """The api reserved a pull task for the agent in Redis (claim, get-next or personal workbin)."""

    event_type = "workrouter.command.task_claimed"

    task_id: str = Field(min_length=1)
    how: Literal["pull", "get_next", "personal"]


class StartTask(AgentCommand):
    """The agent starts a task it claimed with get-next (before the claim timeout gives it back)."""

    event_type = "workrouter.command.start_task"

    task_id: str = Field(min_length=1)


class SupervisorAssign(AgentCommand):
    """A supervisor gives a waiting or parked task to the agent (force-assign, bypassing tiers) or
    parks it in the agent's personal workbin."""

    event_type = "workrouter.command.supervisor_assign"

    task_id: str = Field(min_length=1)
    action: Literal["force_assign", "park"]
    supervisor: str = Field(min_length=1, description="Who did it, for the audit trail.")
