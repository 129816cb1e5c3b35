"""Request bodies of the agent and supervisor API (unknown fields are refused, like the capture API's)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from workrouter.config.live_agents import LiveAgent
from workrouter.contracts.agent_commands import Presence
from workrouter.contracts.bounds import Duration, Priority
from workrouter.contracts.common import Timestamp

MAX_BULK = 100  # tasks per bulk action: one request stays short (each task costs a few Redis reads)


class Body(BaseModel):
    """Base of the request bodies."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PresenceBody(Body):
    """Log in (ready / not_ready), log out (offline), or change the not-ready reason."""

    presence: Presence = Field(description="ready or not_ready logs in (or changes state); offline logs out.")
    reason: str | None = Field(default=None, description="A not-ready reason id from codes.yaml (not a system one).")


class OfferAnswerBody(Body):
    """Accept or reject an offer; the offer id is optional (the one the agent holds now is answered)."""

    offer_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="The offer answered; 409 when it is not the open one."
    )


class CompleteBody(Body):
    """Finish an assigned task."""

    wrap_up_code: str | None = Field(default=None, description="A wrap-up code id from codes.yaml.")


class TransferBody(Body):
    """Give the task to another queue, or to a named colleague (exactly one of the two)."""

    queue: str | None = Field(default=None, min_length=1, max_length=64, description="The queue to give the task to.")
    agent_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="A colleague of the task's domain: the task goes to their personal workbin, claimed by them.",
    )
    reason: str = Field(default="", max_length=500, description="Why, for the task history.")

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        if (self.queue is None) == (self.agent_id is None):
            raise PydanticCustomError("one_target", "give exactly one of queue and agent_id")
        return self


class RescheduleBody(Body):
    """Put the task aside until `wake_at`."""

    wake_at: Timestamp = Field(description="When the task re-enters routing; in the future (RFC 3339).")
    reason: str = Field(default="", max_length=500, description="Why, for the task history (TaskRescheduled.reason).")


class ReclassifyBody(Body):
    """Send the task back through the rules."""

    reason: str = Field(min_length=1, max_length=500, description="Why the task goes back through the rules.")


class AgentRefBody(Body):
    """The agent a supervisor gives or parks a task for."""

    agent_id: str = Field(min_length=1, max_length=64, description="An agent of the supervisor's domain.")


class MoveBody(Body):
    """The queue a supervisor moves a task to."""

    queue: str = Field(min_length=1, max_length=64, description="A queue of one of the supervisor's domains.")
    reason: str = Field(default="", max_length=500, description="Why, for the task history.")


class OverrideBody(Body):
    """A task's base priority, SLA or due time as a supervisor sets them: a field given null goes back to the
    rules, a field left out is unchanged; at least one."""

    priority: Priority | None = Field(default=None, description="Base priority 0..1000; null: the rules'.")
    sla_seconds: Duration | None = Field(default=None, description="SLA in seconds; null: the rules'.")
    due_at: Timestamp | None = Field(default=None, description="Due time, RFC 3339; null: from the SLA or rules.")
    reason: str = Field(default="", max_length=500, description="Why, for the task history.")

    @model_validator(mode="after")
    def _something(self) -> OverrideBody:
        if not self.model_fields_set & {"priority", "sla_seconds", "due_at"}:
            raise PydanticCustomError("empty", "give priority, sla_seconds or due_at (null to go back to the rules)")
        return self


class BulkBody(Body):
    """One supervisor action on many tasks."""

    action: Literal["assign", "park", "take_back", "move"] = Field(description="What to do to each task.")
    task_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_BULK, description=f"The tasks, each once (at most {MAX_BULK})."
    )
    agent_id: str | None = Field(default=None, min_length=1, max_length=64, description="assign, park: the agent.")
    queue: str | None = Field(default=None, min_length=1, max_length=64, description="move: the queue.")
    reason: str = Field(default="", max_length=500, description="move: why, for the task history.")

    @model_validator(mode="after")
    def _complete(self) -> BulkBody:
        if len(set(self.task_ids)) != len(self.task_ids):
            raise PydanticCustomError("unique", "task_ids: each task once")
        wants = {"assign": "agent_id", "park": "agent_id", "move": "queue", "take_back": None}[self.action]
        given = {name for name in ("agent_id", "queue") if getattr(self, name) is not None}
        if given != ({wants} if wants else set()):
            need = f"needs {wants}" if wants else "takes neither agent_id nor queue"
            raise PydanticCustomError("fields", f"{self.action} {need}")
        return self


class QueueSwitchBody(Body):
    """Switch one of an agent's queues on or off."""

    active: StrictBool = Field(description="true: the agent takes work from the queue; false: it does not.")


AGENT_BODIES = (
    PresenceBody,
    OfferAnswerBody,
    CompleteBody,
    TransferBody,
    RescheduleBody,
    ReclassifyBody,
    AgentRefBody,
    MoveBody,
    OverrideBody,
    BulkBody,
    QueueSwitchBody,
    LiveAgent,
)
