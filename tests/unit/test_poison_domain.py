"""Which task a dead letter leaves in limbo, and its hold (workrouter.domain.poison, pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from workrouter.contracts import codec
from workrouter.contracts.agent_commands import AnswerOffer
from workrouter.contracts.commands import UpdateTask
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Payload, make_event
from workrouter.contracts.task_events import TaskClassified, TaskErrorHeld, TaskUpdated
from workrouter.contracts.topics import TopicNames
from workrouter.domain.capture import task_id_for
from workrouter.domain.poison import NotHeld, Poisoned, hold, hold_event_id, poisoned

TOPICS = TopicNames()
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def letter(topic: str, key: str | None, value: str, *, error_type: str = "RuntimeError", **over: Any) -> DeadLettered:
    fields: dict[str, Any] = {"topic": topic, "partition": 0, "offset": 7, "key": key, "group": "wr-escalation"}
    fields |= {"reason": "handler failed 5 times, last with RuntimeError: boom", "error_type": error_type}
    fields |= {"attempts": 5, "value": value, "value_encoding": "utf-8", "failed_at": AT}
    return DeadLettered(**(fields | over))


def text(payload: Payload, key: str) -> str:
    return codec.encode(make_event(payload, source="/test", key=key, subject=None)).decode()


UPDATED = TaskUpdated(task_id="t1", changed=["title"], title="new")


def test_an_event_on_wr_tasks_names_its_task() -> None:
    found = poisoned(letter(TOPICS.tasks, "t1", text(UPDATED, "t1")), TOPICS)
    assert isinstance(found, Poisoned)
    assert (found.task_id, found.failed_type) == ("t1", "workrouter.task.updated")


def test_an_unreadable_message_on_wr_tasks_is_named_by_its_key() -> None:
    found = poisoned(letter(TOPICS.tasks, "t9", "\x00not json", error_type="decode"), TOPICS)
    assert found == Poisoned("t9", None, None)


def test_a_routing_message_names_its_task_by_its_payload_not_its_key() -> None:
    routed = TaskClassified(task_id="t2", queue="q", domain="d", priority=1, rule="r", ruleset_version="v")
    found = poisoned(letter(TOPICS.routing, "d", text(routed, "d")), TOPICS)
    assert isinstance(found, Poisoned)
    assert found.task_id == "t2"
    assert poisoned(letter(TOPICS.routing, "d", "garbage", error_type="decode"), TOPICS) == NotHeld("no_task")


def test_a_capture_command_names_its_task_by_source_and_external_id() -> None:
    update = UpdateTask(source="crm", external_id="X-1", title="t")
    expected = task_id_for("crm", "X-1")
    found = poisoned(letter(TOPICS.capture, "crm:X-1", text(update, "crm:X-1")), TOPICS)
    assert isinstance(found, Poisoned)
    assert found.task_id == expected
    unreadable = poisoned(letter(TOPICS.capture, "crm:X-1", "{", error_type="decode"), TOPICS)
    assert isinstance(unreadable, Poisoned)
    assert unreadable.task_id == expected


def test_a_dead_lettered_hold_holds_nothing_again() -> None:
    held = TaskErrorHeld(task_id="t1", reason="r", ruleset_version="v", service="wr-reporting")
    assert poisoned(letter(TOPICS.tasks, "t1", text(held, "t1")), TOPICS) == NotHeld("hold")
    decode = letter(TOPICS.tasks, "t1", text(held, "t1"), error_type="decode")
    assert poisoned(decode, TOPICS) == NotHeld("hold")


def test_a_refused_command_leaves_its_task_alone_but_a_refused_event_does_not() -> None:
    answer = AnswerOffer(agent_id="a", domain="d", task_id="t1", offer_id="o", accept=True)
    refused = letter(TOPICS.routing, "d", text(answer, "d"), error_type="rejected")
    assert poisoned(refused, TOPICS) == NotHeld("refused_command")
    crashed = letter(TOPICS.routing, "d", text(answer, "d"))  # the router kept failing on it: the task is in limbo
    assert isinstance(poisoned(crashed, TOPICS), Poisoned)
    event = letter(TOPICS.tasks, "t1", text(UPDATED, "t1"), error_type="rejected")
    assert isinstance(poisoned(event, TOPICS), Poisoned)


@pytest.mark.parametrize("topic", [TOPICS.agents, TOPICS.deadletter, "elsewhere"])
def test_topics_that_carry_no_task_hold_nothing(topic: str) -> None:
    assert poisoned(letter(topic, "t1", text(UPDATED, "t1")), TOPICS) == NotHeld("topic")


def test_a_prefixed_deployment_reads_its_own_topic_names() -> None:
    staging = TopicNames("staging.")
    assert poisoned(letter("wr.tasks", "t1", text(UPDATED, "t1")), staging) == NotHeld("topic")
    assert isinstance(poisoned(letter("staging.wr.tasks", "t1", text(UPDATED, "t1")), staging), Poisoned)


def test_the_hold_names_the_service_the_reason_and_the_dead_letter() -> None:
    dead = letter(TOPICS.tasks, "t1", text(UPDATED, "t1"))
    held = hold(dead, "dl:wr-escalation:wr.tasks:0:7", "t1", "workrouter.task.updated", "rules-v3")
    assert (held.service, held.dead_letter_id, held.failed_topic) == (
        "wr-escalation",
        "dl:wr-escalation:wr.tasks:0:7",
        "wr.tasks",
    )
    assert (held.failed_type, held.error_type, held.ruleset_version) == (
        "workrouter.task.updated",
        "RuntimeError",
        "rules-v3",
    )
    assert held.reason.startswith("wr-escalation could not process workrouter.task.updated from wr.tasks: ")
    assert "RuntimeError: boom" in held.reason
    long = hold(letter(TOPICS.tasks, "t1", "{}", reason="x" * 5000), "d", "t1", None, "v")
    assert len(long.reason) == 500


def test_the_hold_id_is_the_same_for_the_same_dead_letter_only() -> None:
    assert hold_event_id("dl:a") == hold_event_id("dl:a") != hold_event_id("dl:b")


def test_an_old_hold_without_the_new_fields_still_reads() -> None:
    old = {"task_id": "t1", "reason": "no rule", "ruleset_version": "v1"}
    envelope = make_event(TaskErrorHeld.model_validate(old), source="/old", key="t1")
    raw = json.loads(codec.encode(envelope))
    raw["data"] = old  # as an old producer wrote it
    again = codec.decode(json.dumps(raw).encode()).data
    assert isinstance(again, TaskErrorHeld)
    assert (again.service, again.dead_letter_id) == (None, None)
