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

    presence: Presence = Field(description="offline logs out; ready or not_ready logs in (or changes state).")
    reason: str | None = Field(default=None, description="Not-ready reason id from codes.yaml.")


class AnswerOffer(AgentCommand):
    """The agent accepts or rejects a task offered to it. A reject is a RONA."""

    event_type = "workrouter.command.answer_offer"

    task_id: str = Field(min_length=1, description="Task the offer is for.")
    offer_id: str = Field(
        min_length=1, description="The offer answered (from its TaskOffered); an answer to a closed one is ignored."
    )
    accept: bool = Field(description="true: the agent takes the task; false: rejects it, a RONA (it goes not ready).")


class FinishTask(AgentCommand):
    """The agent completed its task, with a wrap-up code from codes.yaml."""

    event_type = "workrouter.command.finish_task"

    task_id: str = Field(min_length=1, description="Task the agent has assigned and finished.")
    wrap_up_code: str | None = Field(
        default=None, max_length=64, description="Wrap-up code id from codes.yaml; None: none given."
    )


class HandBackTask(AgentCommand):
    """The agent gives its task away: to another queue (transfer), to the rules (reclassify), or to later."""

    event_type = "workrouter.command.hand_back_task"

    task_id: str = Field(min_length=1, description="Task the agent gives away.")
    action: Literal["transfer", "reclassify", "reschedule"] = Field(
        description="transfer: to `queue`; reclassify: back through the rules; reschedule: asleep until `wake_at`."
    )
    queue: str | None = Field(default=None, description="Target queue of a transfer (or `to_agent`).")
    to_agent: str | None = Field(
        default=None,
        min_length=1,
        description="A transfer to a named colleague: the task goes to their personal workbin, which only they "
        "claim from (issue 20: 'send back to the original advisor').",
    )
    wake_at: Timestamp | None = Field(default=None, description="When a rescheduled task comes back.")
    reason: str = Field(
        default="",
        max_length=500,
        description="Why: the reason of the ReclassifyTask a transfer or reclassify sends (empty: '<action> by agent "
        "<agent id>'); a reschedule keeps it in TaskRescheduled.reason.",
    )


class TaskClaimed(AgentCommand):
    """The api reserved a pull task for the agent in Redis (claim, get-next or personal workbin)."""

    event_type = "workrouter.command.task_claimed"

    task_id: str = Field(min_length=1, description="Task the api reserved for the agent.")
    how: Literal["pull", "get_next", "personal"] = Field(
        description="pull: claimed from a queue's workbin (assigned); get_next: to be started before the claim "
        "timeout; personal: claimed from the agent's personal workbin (assigned)."
    )


class StartTask(AgentCommand):
    """The agent starts a task it claimed with get-next (before the claim timeout gives it back)."""

    event_type = "workrouter.command.start_task"

    task_id: str = Field(min_length=1, description="Task of the agent's get-next claim.")


class SupervisorAssign(AgentCommand):
    """A supervisor gives a task to the agent (force-assign, bypassing tiers: a waiting or parked task, or
    one another agent holds, which is taken from them first), parks a waiting task in the agent's personal
    workbin, or takes back a task the agent holds (back to its place in the queue, routed again)."""

    event_type = "workrouter.command.supervisor_assign"

    task_id: str = Field(min_length=1, description="Task of the domain.")
    action: Literal["force_assign", "park", "take_back"] = Field(
        description="force_assign: assigned to the agent now, tiers bypassed (taken from its holder first); park: "
        "into the agent's personal workbin; take_back: taken from the agent (`agent_id`, its holder) back to "
        "the queue.",
    )
    supervisor: str = Field(min_length=1, description="Who did it, for the audit trail.")


class SyncAgent(AgentCommand):
    """Another domain's router changed what a blended agent holds or its presence (decisions D21): the
    receiving router (`domain`) reads the agent's presence and holds from Redis again. It carries no state,
    so a late or repeated one costs a Redis read and changes nothing."""

    event_type = "workrouter.command.sync_agent"

    from_domain: str = Field(min_length=1, description="The routing domain whose router changed the agent.")


class ChangeAgent(AgentCommand):
    """A supervisor changed the agent in the live directory (added, edited, removed, queues switched on or
    off): the receiving router reads the agent from the directory again and applies it to its domain, with
    no restart. It carries no state, so a late or repeated one reads the directory as it is now."""

    event_type = "workrouter.command.change_agent"

    by: str = Field(min_length=1, description="The supervisor who made the change.")
