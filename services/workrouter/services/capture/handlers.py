"""Capture handlers: validate, decide against what was captured before, publish, then remember."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from workrouter.bus.port import Bus, Delivery, PermanentError
from workrouter.config.catalog import Catalog
from workrouter.contracts import commands as c
from workrouter.contracts.common import FieldError
from workrouter.contracts.envelope import Envelope, Payload, make_event
from workrouter.contracts.refused import MAX_ORIGINAL_CHARS, RefusedCommand
from workrouter.contracts.task_events import TaskRejected
from workrouter.contracts.topics import TopicNames
from workrouter.domain import capture
from workrouter.ports.stores import CaptureStore

log = logging.getLogger(__name__)
SOURCE = "/workrouter/capture"


@dataclass(frozen=True)
class CaptureDeps:
    """What the capture handlers need."""

    store: CaptureStore
    catalog: Catalog
    bus: Bus
    clock: Callable[[], datetime]
    topics: TopicNames = field(default_factory=TopicNames)


def validate(cmd: Payload, catalog: Catalog) -> list[FieldError]:
    """Errors a command has on its own, before looking at what was captured before."""
    if isinstance(cmd, c.CaptureTask):
        return catalog.capture_errors(cmd)
    if isinstance(cmd, c.SourceCommand) and cmd.source not in catalog.sources:
        return [FieldError(loc="source", msg=f"unknown source {cmd.source!r}; register it in sources.yaml")]
    return []


async def _publish(deps: CaptureDeps, events: list[Payload], task_id: str, trigger_id: str) -> None:
    for index, payload in enumerate(events):
        event_id = capture.derived_event_id(trigger_id, f"{index}:{payload.event_type}")
        envelope = make_event(payload, source=SOURCE, key=task_id, subject=task_id, event_id=event_id)
        await deps.bus.publish(deps.topics.tasks, envelope)


async def apply(cmd: Payload, trigger_id: str, deps: CaptureDeps) -> None:
    """Apply one command; raises CaptureRefusedError if it cannot apply."""
    errors = validate(cmd, deps.catalog)
    if errors:
        raise capture.CaptureRefusedError(errors)
    assert isinstance(cmd, c.CaptureTask | c.SourceCommand)
    existing = await deps.store.get(cmd.source, cmd.external_id)
    if isinstance(cmd, c.CaptureTask):
        decision = capture.on_capture(existing, cmd)
    elif isinstance(cmd, c.UpdateTask):
        decision = capture.on_update(existing, cmd)
        if decision.record is not None:
            worktype = decision.record.facts["type"]
            if problems := deps.catalog.attribute_errors(worktype, decision.record.facts["attributes"]):
                raise capture.CaptureRefusedError(problems)
    else:
        decision = capture.on_lifecycle(existing, cmd, deps.clock())
    if decision.record is None:
        return  # a repeat: nothing changed, nothing to say
    # Publish first, then remember: a crash in between redelivers the command, which
    # decides the same way and re-publishes the same event ids (consumers dedupe).
    await _publish(deps, decision.events, decision.record.task_id, trigger_id)
    await deps.store.put(decision.record)


async def _reject(deps: CaptureDeps, cmd: Payload, errors: list[FieldError], trigger_id: str) -> None:
    if isinstance(cmd, RefusedCommand):
        source, external_id, original = cmd.source, cmd.external_id, cmd.original
    else:
        source, external_id = getattr(cmd, "source", None), getattr(cmd, "external_id", None)
        original = cmd.model_dump_json()[:MAX_ORIGINAL_CHARS]
    key = capture.task_id_for(source, external_id) if source and external_id else f"rejected:{trigger_id}"
    rejected = TaskRejected(source=source, external_id=external_id, errors=errors, original=original)
    event_id = capture.derived_event_id(trigger_id, "rejected")
    await deps.bus.publish(
        deps.topics.tasks, make_event(rejected, source=SOURCE, key=key, subject=external_id, event_id=event_id)
    )


async def _judge(item: Payload, trigger_id: str, deps: CaptureDeps) -> list[FieldError]:
    """Apply one command, or announce its refusal (TaskRejected): the errors, empty when it applied."""
    try:
        if isinstance(item, RefusedCommand):
            raise capture.CaptureRefusedError(item.errors)
        await apply(item, trigger_id, deps)
    except capture.CaptureRefusedError as exc:
        await _reject(deps, item, exc.errors, trigger_id)
        return exc.errors
    return []


async def handle(envelope: Envelope, delivery: Delivery, deps: CaptureDeps) -> None:
    """Entry point for `wr.capture`: a refused command is answered with TaskRejected (not dead-lettered)."""
    cmd = envelope.data
    if isinstance(cmd, c.CaptureTaskBatch):
        for index, item in enumerate(cmd.commands()):
            await _judge(item, f"{envelope.id}#{index}", deps)
        return
    if not isinstance(cmd, c.CaptureTask | c.SourceCommand | RefusedCommand):
        raise PermanentError(f"{envelope.type} does not belong on wr.capture")
    if errors := await _judge(cmd, envelope.id, deps):
        # Answered (TaskRejected, and the source's callback), so not a dead letter: those are for what no one answered.
        log.info("refused %s %s: %s", envelope.type, envelope.id, capture.CaptureRefusedError(errors))
