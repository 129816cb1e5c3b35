"""Which task a dead letter leaves in limbo, and the hold that makes it visible (pure).

A consumer that gives up on a message dead-letters it and moves on (docs/decisions.md D4); when
the message was about a task, the task would stay wherever it was while services disagree about
it. `poisoned` reads a dead letter and names the task to hold, or says why there is none;
`hold` is the `TaskErrorHeld` for it. The prioritiser carries both out (D13).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.task_events import TaskErrorHeld
from workrouter.contracts.topics import TopicNames
from workrouter.domain.capture import derived_event_id, task_id_for

TASK_EVENT_PREFIX = "workrouter.task."
REASON_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Poisoned:
    """A task a dead letter leaves in limbo, with what the original message was (type None: unreadable)."""

    task_id: str
    failed_type: str | None
    original: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class NotHeld:
    """Why a dead letter holds no task (a bounded label: it is a metric label too)."""

    why: str


def _original(letter: DeadLettered) -> dict[str, Any] | None:
    """The original message as a JSON object, when it is one."""
    if letter.value_encoding != "utf-8":
        return None
    try:
        value = json.loads(letter.value)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _task_id(letter: DeadLettered, original: dict[str, Any] | None, topics: TopicNames) -> str | None:
    """The task the message was about: its task id, else what its topic's key says."""
    data = original.get("data") if original is not None else None
    data = data if isinstance(data, dict) else {}
    if (task_id := _text(data.get("task_id"))) is not None:
        return task_id
    if letter.topic == topics.tasks:
        return _text(letter.key)  # wr.tasks is keyed by task id
    if letter.topic == topics.capture:  # keyed source:external_id (a source name has no colon)
        source, external_id = _text(data.get("source")), _text(data.get("external_id"))
        if source is None or external_id is None:
            source, _, external_id = (letter.key or "").partition(":")
        return task_id_for(source, external_id) if source and external_id else None
    return None  # wr.routing is keyed by domain: only the message itself can name its task


def poisoned(letter: DeadLettered, topics: TopicNames) -> Poisoned | NotHeld:
    """The task a dead letter leaves in limbo, or why it holds none.

    Never a hold for a dead-lettered hold (no loop), for topics that carry no task (wr.agents,
    wr.deadletter), or for a command a service refused (PermanentError): a refusal leaves the
    task as it was. An event about a task that a service refused, could not decode or kept
    failing on, and a command it kept failing on, leave it in limbo.
    """
    if letter.topic not in (topics.tasks, topics.routing, topics.capture):
        return NotHeld("topic")
    original = _original(letter)
    failed_type = _text(original.get("type")) if original is not None else None
    if failed_type == TaskErrorHeld.event_type:
        return NotHeld("hold")
    is_event = failed_type is not None and failed_type.startswith(TASK_EVENT_PREFIX)
    if letter.error_type == "rejected" and not is_event:
        return NotHeld("refused_command")
    task_id = _task_id(letter, original, topics)
    if task_id is None:
        return NotHeld("no_task")
    return Poisoned(task_id, failed_type, original)


def hold(
    letter: DeadLettered, dead_letter_id: str, task_id: str, failed_type: str | None, ruleset_version: str
) -> TaskErrorHeld:
    """The hold for a task a service could not process an event about, naming the service and the reason."""
    what = failed_type or "an unreadable message"
    reason = f"{letter.group} could not process {what} from {letter.topic}: {letter.reason}"
    return TaskErrorHeld(
        task_id=task_id,
        reason=reason[:REASON_LIMIT],
        ruleset_version=ruleset_version,
        service=letter.group,
        dead_letter_id=dead_letter_id,
        failed_topic=letter.topic,
        failed_type=failed_type,
        error_type=letter.error_type,
    )


def hold_event_id(dead_letter_id: str) -> str:
    """The hold's event id: the same for every delivery of the same dead letter."""
    return derived_event_id(dead_letter_id, "error_held")
