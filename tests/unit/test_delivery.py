"""The shared delivery policy: ack, retry, or dead-letter, and the dead-letter event."""

from __future__ import annotations

import base64

from workrouter.bus.delivery import DeliveryPolicy, Outcome, Verdict, attempt, dead_letter
from workrouter.bus.port import Delivery, PermanentError
from workrouter.contracts import codec
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.contracts.task_events import TaskCompleted

GOOD = codec.encode(make_event(TaskCompleted(task_id="t1", by="agent"), source="/s", key="t1"))
POLICY = DeliveryPolicy(max_attempts=3)


def at(attempt_no: int) -> Delivery:
    return Delivery("wr.tasks", 2, 41, "t1", attempt_no)


async def ok(_: Envelope, __: Delivery) -> None:
    return None


async def boom(_: Envelope, __: Delivery) -> None:
    raise ConnectionError("redis gone")


async def refuse(_: Envelope, __: Delivery) -> None:
    raise PermanentError("no such queue")


async def test_success_is_acked() -> None:
    assert await attempt(GOOD, at(1), ok, POLICY) == Outcome(Verdict.ACK)


async def test_failure_is_retried_until_the_limit_then_dead_lettered() -> None:
    assert (await attempt(GOOD, at(2), boom, POLICY)).verdict is Verdict.RETRY
    last = await attempt(GOOD, at(3), boom, POLICY)
    assert last.verdict is Verdict.DEAD_LETTER
    assert last.error_type == "ConnectionError"
    assert last.reason == "handler failed 3 times, last with ConnectionError: redis gone"


async def test_permanent_error_and_garbage_are_dead_lettered_at_once() -> None:
    assert (await attempt(GOOD, at(1), refuse, POLICY)).reason == "rejected by handler: no such queue"
    garbage = await attempt(b"\x00", at(1), ok, POLICY)
    assert garbage.verdict is Verdict.DEAD_LETTER
    assert garbage.error_type == "decode"


def test_backoff_doubles_and_is_capped() -> None:
    policy = DeliveryPolicy(backoff_seconds=0.1, max_backoff_seconds=0.5)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_dead_letter_keeps_the_original_bytes_and_has_a_stable_id() -> None:
    outcome = Outcome(Verdict.DEAD_LETTER, "cannot decode: x", "decode")
    raw = b"\xff\x00binary"
    first, again = dead_letter(raw, at(1), "router", outcome), dead_letter(raw, at(1), "router", outcome)
    assert first.id == again.id == "dl:router:wr.tasks:2:41"
    letter = first.data
    assert isinstance(letter, DeadLettered)
    assert letter.value_encoding == "base64"
    assert base64.b64decode(letter.value) == raw
    assert (letter.topic, letter.partition, letter.offset, letter.key) == ("wr.tasks", 2, 41, "t1")
    assert first.partitionkey == "t1"
    assert codec.decode(codec.encode(first)) == first


def test_dead_letter_of_a_message_without_key_survives_the_wire() -> None:
    outcome = Outcome(Verdict.DEAD_LETTER, "cannot decode: x", "decode")
    letter = dead_letter(b"{", Delivery("wr.capture", 0, 3, None, 1), "capture", outcome)
    assert isinstance(letter.data, DeadLettered)
    assert letter.data.key is None
    assert codec.decode(codec.encode(letter)) == letter
