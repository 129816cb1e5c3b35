"""The topic registry: every topic, its key and the payloads it carries."""

from __future__ import annotations

from dataclasses import dataclass, replace

from workrouter.contracts import agent_commands, agent_events, commands, deadletter, task_events
from workrouter.contracts.envelope import Payload


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: name, what its key is, default partitions, and its payload types."""

    name: str
    key: str
    partitions: int
    description: str
    payloads: tuple[type[Payload], ...]


CAPTURE = TopicSpec(
    name="wr.capture",
    key="source:external_id",
    partitions=6,
    description="Inbound work items from source systems (the public capture contract).",
    payloads=(
        commands.CaptureTask,
        commands.CaptureTaskBatch,
        commands.UpdateTask,
        commands.CancelTask,
        commands.CompleteTask,
        commands.RescheduleTask,
        commands.PauseTask,
        commands.ResumeTask,
    ),
)
TASKS = TopicSpec(
    name="wr.tasks",
    key="task_id",
    partitions=12,
    description="Every lifecycle event of every task; one task's history is ordered.",
    payloads=(
        task_events.TaskCaptured,
        task_events.TaskRejected,
        task_events.TaskUpdated,
        task_events.TaskClassified,
        task_events.TaskErrorHeld,
        task_events.TaskQueued,
        task_events.TaskOffered,
        task_events.TaskAccepted,
        task_events.TaskOfferRevoked,
        task_events.TaskUnassigned,
        task_events.TaskParked,
        task_events.TaskEscalated,
        task_events.TaskReprioritised,
        task_events.TaskRescheduled,
        task_events.TaskPaused,
        task_events.TaskResumed,
        task_events.TaskWrapUpStarted,
        task_events.TaskCompleted,
        task_events.TaskCancelled,
        task_events.TaskExpired,
        commands.ReclassifyTask,
        commands.OverrideTask,
    ),
)
ROUTING = TopicSpec(
    name="wr.routing",
    key="routing domain",
    partitions=6,
    description=(
        "What the router must act on: classified, withdrawn and held tasks, agent and supervisor commands; "
        "one router instance owns a domain at a time."
    ),
    payloads=(
        task_events.TaskClassified,
        task_events.TaskCancelled,
        task_events.TaskCompleted,
        task_events.TaskPaused,
        task_events.TaskRescheduled,
        task_events.TaskExpired,
        task_events.TaskErrorHeld,
        agent_commands.ChangePresence,
        agent_commands.AnswerOffer,
        agent_commands.FinishTask,
        agent_commands.HandBackTask,
        agent_commands.TaskClaimed,
        agent_commands.StartTask,
        agent_commands.SupervisorAssign,
        agent_commands.SyncAgent,
        agent_commands.ChangeAgent,
    ),
)
AGENTS = TopicSpec(
    name="wr.agents",
    key="routing domain",
    partitions=ROUTING.partitions,
    description="Agent presence facts, announced by the router (agents' commands travel on wr.routing).",
    payloads=(agent_events.AgentPresenceChanged, agent_events.AgentProfileChanged),
)
DEADLETTER = TopicSpec(
    name="wr.deadletter",
    key="key of the original message",
    partitions=3,
    description="Messages that could not be processed, with the reason and the original value.",
    payloads=(deadletter.DeadLettered,),
)

ALL_TOPICS: tuple[TopicSpec, ...] = (CAPTURE, TASKS, ROUTING, AGENTS, DEADLETTER)


def capture_key(source: str, external_id: str) -> str:
    """Key of a `wr.capture` message."""
    return f"{source}:{external_id}"


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The topic names one deployment uses: the registry's, behind an optional prefix (e.g. `staging.`)."""

    prefix: str = ""

    @property
    def capture(self) -> str:
        """Name of `wr.capture`."""
        return self.prefix + CAPTURE.name

    @property
    def tasks(self) -> str:
        """Name of `wr.tasks`."""
        return self.prefix + TASKS.name

    @property
    def routing(self) -> str:
        """Name of `wr.routing`."""
        return self.prefix + ROUTING.name

    @property
    def agents(self) -> str:
        """Name of `wr.agents`."""
        return self.prefix + AGENTS.name

    @property
    def deadletter(self) -> str:
        """Name of `wr.deadletter`."""
        return self.prefix + DEADLETTER.name

    def specs(self) -> tuple[TopicSpec, ...]:
        """Every registry topic under this prefix."""
        return tuple(replace(spec, name=self.prefix + spec.name) for spec in ALL_TOPICS)
