"""The capture catalog: registered sources, work types and queues, loaded and cross-checked together."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workrouter.config.calendars import load_calendars
from workrouter.config.files import ConfigError, read_yaml
from workrouter.config.routing_queues import QueueConfig, QueuesConfigFile
from workrouter.config.sources import SourcesFile, SourceSystem
from workrouter.config.worktypes import WorkType, WorkTypesFile
from workrouter.contracts.commands import CaptureTask
from workrouter.contracts.common import FieldError
from workrouter.domain.calendar import ALWAYS_OPEN, ALWAYS_OPEN_NAME, BusinessCalendar

MAX_ATTRIBUTES_BYTES = 16 * 1024


@dataclass(frozen=True)
class Catalog:
    """Sources, work types, queues and business calendars by name."""

    sources: dict[str, SourceSystem]
    worktypes: dict[str, WorkType]
    queues: dict[str, QueueConfig]
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=lambda: {ALWAYS_OPEN_NAME: ALWAYS_OPEN})

    def source_for_key(self, api_key: str) -> SourceSystem | None:
        """The source whose API key this is, if any."""
        return next((s for s in self.sources.values() if s.accepts_key(api_key)), None)

    def capture_errors(self, cmd: CaptureTask) -> list[FieldError]:
        """Everything wrong with a capture command beyond its own field types."""
        errors: list[FieldError] = []
        if cmd.source not in self.sources:
            errors.append(FieldError(loc="source", msg=f"unknown source {cmd.source!r}; register it in sources.yaml"))
        worktype = self.worktypes.get(cmd.type)
        if worktype is None:
            known = ", ".join(sorted(self.worktypes))
            errors.append(FieldError(loc="type", msg=f"unknown work type {cmd.type!r} (known: {known})"))
        channels = {queue.channel for queue in self.queues.values()}
        if cmd.channel not in channels:
            known = ", ".join(sorted(channels))
            errors.append(
                FieldError(loc="channel", msg=f"unknown channel {cmd.channel!r}: no queue serves it (known: {known})")
            )
        size = len(json.dumps(cmd.attributes, separators=(",", ":")).encode())
        if size > MAX_ATTRIBUTES_BYTES:
            errors.append(FieldError(loc="attributes", msg=f"{size} bytes, over the {MAX_ATTRIBUTES_BYTES} byte limit"))
        elif worktype is not None:
            errors.extend(worktype.attribute_errors(cmd.attributes))
        if cmd.due_at and cmd.expires_at and cmd.expires_at < cmd.due_at:
            errors.append(FieldError(loc="expires_at", msg="must not be before due_at"))
        return errors

    def attribute_errors(self, worktype: str, attributes: dict[str, Any]) -> list[FieldError]:
        """Schema and size errors for a full set of attributes of a work type."""
        size = len(json.dumps(attributes, separators=(",", ":")).encode())
        if size > MAX_ATTRIBUTES_BYTES:
            return [FieldError(loc="attributes", msg=f"{size} bytes, over the {MAX_ATTRIBUTES_BYTES} byte limit")]
        known = self.worktypes.get(worktype)
        return known.attribute_errors(attributes) if known else []


def load_catalog(config_dir: Path) -> Catalog:
    """Read sources.yaml, worktypes.yaml, queues.yaml and calendars.yaml (if any) and cross-check them."""
    calendars = load_calendars(config_dir)
    sources = read_yaml(config_dir / "sources.yaml", SourcesFile).sources
    worktypes = read_yaml(config_dir / "worktypes.yaml", WorkTypesFile, {"calendars": calendars}).worktypes
    queues = read_yaml(config_dir / "queues.yaml", QueuesConfigFile).queues
    for kind, names in (("source", [s.name for s in sources]), ("work type", [w.name for w in worktypes])):
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"duplicate {kind} names: {', '.join(dupes)}")
    queue_names = {q.name for q in queues}
    for wt in worktypes:
        if wt.defaults.queue is not None and wt.defaults.queue not in queue_names:
            raise ConfigError(f"worktypes.yaml: {wt.name}.defaults.queue: unknown queue {wt.defaults.queue!r}")
    return Catalog(
        sources={s.name: s for s in sources},
        worktypes={w.name: w for w in worktypes},
        queues={q.name: q for q in queues},
        calendars=calendars,
    )
