"""The delivery policy for batch subscriptions (sinks such as the event log), shared by both adapters.

A batch handler gets every decodable message of one poll at once, so it can write them
in one transaction (COPY). The guarantees are those of single deliveries: nothing is
committed before the handler succeeded, a message that cannot be decoded is dead-lettered
alone, and a message the handler keeps failing on is found by handling the batch one
message at a time (with the usual attempt limit each) and dead-lettered alone, so one bad
message never holds up or takes down its neighbours.

A subscription may name the event types it `wanted`: the others are settled (committed) unread.
The adapters pass each message's type as they received it (Kafka's `ce_type` header, the in-process
bus's record), so a consumer skips what it ignores without parsing a body (ARCHITECTURE.md's cost per
message); a message that comes without one (written raw, replayed) is decoded and then filtered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workrouter.bus.delivery import HANDLED, HANDLER_ERRORS, SKIPPED, DeliveryPolicy, Outcome, Verdict, attempt
from workrouter.bus.port import BatchHandler, Delivery, PermanentError
from workrouter.contracts import codec
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.registry import REGISTRY, PayloadRegistry

log = logging.getLogger(__name__)
UNREAD = Outcome(Verdict.ACK)  # a type the subscription does not take: committed unread


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message of a poll as an adapter received it."""

    value: bytes
    delivery: Delivery
    type: str | None = None  # the event type its transport carried beside the body, if any


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of one message of a batch: handled (outcome ACK) or set aside (DEAD_LETTER)."""

    value: bytes
    delivery: Delivery
    outcome: Outcome


async def deliver_batch(
    messages: Sequence[Incoming],
    handler: BatchHandler,
    policy: DeliveryPolicy,
    *,
    running: Callable[[], bool],
    registry: PayloadRegistry = REGISTRY,
    wanted: frozenset[str] | None = None,
) -> list[Settled] | None:
    """Handle a batch; every message comes back settled, or None if the bus stopped first (commit nothing)."""
    settled: list[Settled] = []
    decoded: list[tuple[bytes, Envelope, Delivery]] = []
    for message in messages:
        value, delivery = message.value, message.delivery
        if wanted is not None and message.type is not None and message.type not in wanted:
            settled.append(Settled(value, delivery, UNREAD))
            SKIPPED.labels(delivery.topic).inc()
            continue
        try:
            envelope = codec.decode(value, registry)
        except codec.DecodeError as exc:
            settled.append(Settled(value, delivery, Outcome(Verdict.DEAD_LETTER, f"cannot decode: {exc}", "decode")))
            HANDLED.labels(delivery.topic, Verdict.DEAD_LETTER.value).inc()
            HANDLER_ERRORS.labels(delivery.topic, "decode", Verdict.DEAD_LETTER.value).inc()
            continue
        if wanted is not None and envelope.type not in wanted:
            settled.append(Settled(value, delivery, UNREAD))
            SKIPPED.labels(delivery.topic).inc()
        else:
            decoded.append((value, envelope, delivery))
    if decoded and not await _whole(decoded, handler, policy, running):
        if not running():
            return None
        for value, _, delivery in decoded:
            alone = await _alone(value, delivery, handler, policy, running=running, registry=registry)
            if alone is None:
                return None
            settled.append(alone)
        return settled
    settled.extend(Settled(value, delivery, Outcome(Verdict.ACK)) for value, _, delivery in decoded)
    if decoded:  # handled whole: counted as the single deliveries count theirs (one by one, `attempt` does)
        HANDLED.labels(decoded[0][2].topic, Verdict.ACK.value).inc(len(decoded))
    return settled


async def _whole(
    decoded: list[tuple[bytes, Envelope, Delivery]],
    handler: BatchHandler,
    policy: DeliveryPolicy,
    running: Callable[[], bool],
) -> bool:
    """Try the whole batch up to the attempt limit; False when it never succeeded."""
    for tries in range(1, policy.max_attempts + 1):
        batch = [(env, dataclasses.replace(d, attempt=tries)) for _, env, d in decoded]
        try:
            await handler(batch)
            return True
        except PermanentError as exc:
            log.warning("batch handler refused a batch of %d (%s); handling it one by one", len(batch), exc)
            return False
        except Exception as exc:
            first = decoded[0][2]
            HANDLER_ERRORS.labels(first.topic, type(exc).__name__, Verdict.RETRY.value).inc()
            log.warning(
                "batch handler failed on %d messages from %s[%d]@%d (attempt %d/%d): %s: %s",
                len(batch),
                first.topic,
                first.partition,
                first.offset,
                tries,
                policy.max_attempts,
                type(exc).__name__,
                exc,
            )
            if not running():
                return False
            if tries < policy.max_attempts:
                await asyncio.sleep(policy.backoff(tries))
    return False


async def _alone(
    value: bytes,
    delivery: Delivery,
    handler: BatchHandler,
    policy: DeliveryPolicy,
    *,
    running: Callable[[], bool],
    registry: PayloadRegistry,
) -> Settled | None:
    """One message on its own, with the single-delivery policy; None if the bus stopped first."""

    async def single(envelope: Envelope, d: Delivery) -> None:
        await handler([(envelope, d)])

    tries = 0
    while running():
        tries += 1
        this = dataclasses.replace(delivery, attempt=tries)
        outcome = await attempt(value, this, single, policy, registry)
        if outcome.verdict is not Verdict.RETRY:
            return Settled(value, this, outcome)
        await asyncio.sleep(policy.backoff(tries))
    return None
