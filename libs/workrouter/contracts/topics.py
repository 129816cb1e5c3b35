"""The topic registry: every topic, its key and the payloads it carries."""

from __future__ import annotations

from dataclasses import dataclass

from workrouter.contracts import agent_events, commands, deadletter, task_events
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
    payloads=(commands.CaptureTask,),
)
TASKS = TopicSpec(
    name="wr.tasks",
    key="task_id",
    partitions=12,
    description="Every lifecycle event of every task; one task's history is ordered.",
    payloads=(
        task_events.TaskCaptured,
        task_events.TaskRejected,
        task_events.TaskClassified,
        task_events.TaskQueued,
        task_events.TaskOffered,
        task_events.TaskAccepted,
        task_events.TaskOfferRevoked,
        task_events.TaskParked,
        task_events.TaskEscalated,
        task_events.TaskReprioritised,
        task_events.TaskRescheduled,
        task_events.TaskCompleted,
        task_events.TaskCancelled,
        task_events.TaskExpired,
        commands.ReclassifyTask,
    ),
)
ROUTING = TopicSpec(
    name="wr.routing",
    key="routing domain",
    partitions=6,
    description="What the router must act on; one router instance owns a domain at a time.",
    payloads=(task_events.TaskClassified, task_events.TaskCancelled, task_events.TaskCompleted),
)
AGENTS = TopicSpec(
    name="wr.agents",
    key="routing domain (co-partitioned with wr.routing)",
    partitions=ROUTING.partitions,
    description="Agent presence and actions, reaching the router that owns the agent's domain.",
    payloads=(agent_events.AgentPresenceChanged,),
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
