"""The delivery policy both bus adapters share: decode, handle, then ack, retry or dead-letter."""

from __future__ import annotations

import base64
import enum
import logging
from dataclasses import dataclass

from prometheus_client import Counter

from workrouter.bus.port import Delivery, Handler, PermanentError
from workrouter.contracts import codec
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.envelope import Envelope, make_event, utcnow
from workrouter.contracts.registry import REGISTRY, PayloadRegistry

log = logging.getLogger(__name__)

HANDLED = Counter(
    "workrouter_messages_handled_total",
    "Handler attempts on consumed messages, by topic and verdict (ack, retry, dead_letter).",
    ["topic", "verdict"],
)
SKIPPED = Counter(
    "workrouter_messages_skipped_total",
    "Consumed messages of a type the subscription does not take: committed without reaching a handler.",
    ["topic"],
)
HANDLER_ERRORS = Counter(
    "workrouter_handler_errors_total",
    "Failed handler attempts, by error (decode, rejected = PermanentError, or the exception class) and verdict.",
    ["topic", "error_type", "verdict"],
)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard to try before a message is set aside."""

    max_attempts: int = 5
    backoff_seconds: float = 0.05
    max_backoff_seconds: float = 2.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt + 1`."""
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1)))


class Verdict(enum.Enum):
    """What to do with the message after one attempt."""

    ACK = "ack"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict, and for dead letters the reason and error class."""

    verdict: Verdict
    reason: str = ""
    error_type: str = ""


async def attempt(
    value: bytes,
    delivery: Delivery,
    handler: Handler,
    policy: DeliveryPolicy,
    registry: PayloadRegistry = REGISTRY,
) -> Outcome:
    """Decode and handle one message once; never raises. Counted in the handler metrics."""
    outcome = await _attempt(value, delivery, handler, policy, registry)
    HANDLED.labels(delivery.topic, outcome.verdict.value).inc()
    if outcome.verdict is not Verdict.ACK:
        HANDLER_ERRORS.labels(delivery.topic, outcome.error_type or "unknown", outcome.verdict.value).inc()
    return outcome


async def _attempt(
    value: bytes, delivery: Delivery, handler: Handler, policy: DeliveryPolicy, registry: PayloadRegistry
) -> Outcome:
    try:
        envelope = codec.decode(value, registry)
    except codec.DecodeError as exc:
        return Outcome(Verdict.DEAD_LETTER, f"cannot decode: {exc}", "decode")
    try:
        await handler(envelope, delivery)
    except PermanentError as exc:
        return Outcome(Verdict.DEAD_LETTER, f"rejected by handler: {exc}", "rejected")
    except Exception as exc:
        name = type(exc).__name__
        if delivery.attempt >= policy.max_attempts:
            reason = f"handler failed {delivery.attempt} times, last with {name}: {exc}"
            return Outcome(Verdict.DEAD_LETTER, reason, name)
        log.warning(
            "handler failed on %s[%d]@%d (attempt %d/%d): %s: %s; will redeliver",
            delivery.topic,
            delivery.partition,
            delivery.offset,
            delivery.attempt,
            policy.max_attempts,
            name,
            exc,
        )
        return Outcome(Verdict.RETRY, str(exc), name)
    return Outcome(Verdict.ACK)


def taking(handler: Handler, types: frozenset[str] | None) -> Handler:
    """`handler`, given only events of `types` (all if None); the others return at once, committed unread.
    Adapters skip what their transport labels with another type before decoding; this catches the rest."""
    if types is None:
        return handler

    async def filtered(envelope: Envelope, delivery: Delivery) -> None:
        if envelope.type in types:
            await handler(envelope, delivery)
        else:
            SKIPPED.labels(delivery.topic).inc()

    return filtered


def dead_letter(value: bytes, delivery: Delivery, group: str, outcome: Outcome) -> Envelope:
    """The `wr.deadletter` event for a message that is being set aside."""
    try:
        text, encoding = value.decode(), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(value).decode(), "base64"
    payload = DeadLettered(
        topic=delivery.topic,
        partition=delivery.partition,
        offset=delivery.offset,
        key=delivery.key,
        group=group,
        reason=outcome.reason,
        error_type=outcome.error_type,
        attempts=delivery.attempt,
        value=text,
        value_encoding="utf-8" if encoding == "utf-8" else "base64",
        failed_at=utcnow(),
    )
    log.error("dead-lettering %s[%d]@%d: %s", delivery.topic, delivery.partition, delivery.offset, outcome.reason)
    key = delivery.key or f"{delivery.topic}:{delivery.partition}"
    # A deterministic id, so a redelivered failure dead-letters as the same event.
    event_id = f"dl:{group}:{delivery.topic}:{delivery.partition}:{delivery.offset}"
    return make_event(payload, source="/workrouter/bus", key=key, subject=delivery.key, event_id=event_id)
