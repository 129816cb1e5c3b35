"""Which payload model each wire type maps to, and how old versions are upcast."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from workrouter.contracts import agent_commands, agent_events, commands, deadletter, task_events
from workrouter.contracts.envelope import Payload

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventTypeError(LookupError):
    """The wire type is not one this code knows."""


class PayloadRegistry:
    """Maps `type` to the current payload model; upcasts older versions step by step."""

    def __init__(self, models: Iterable[type[Payload]]) -> None:
        self._models: dict[str, type[Payload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for model in models:
            if model.event_type in self._models:
                raise ValueError(f"duplicate event type {model.event_type!r}")
            self._models[model.event_type] = model

    def model(self, event_type: str) -> type[Payload]:
        """The current model for a type, or UnknownEventTypeError."""
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventTypeError(f"unknown event type {event_type!r}") from None

    def models(self) -> list[type[Payload]]:
        """All registered models, sorted by type."""
        return [self._models[t] for t in sorted(self._models)]

    def add_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Register the function turning `from_version` data into `from_version + 1` data."""
        current = self.model(event_type).version
        if not 1 <= from_version < current:
            raise ValueError(f"{event_type}: cannot upcast from v{from_version} (current v{current})")
        self._upcasters[(event_type, from_version)] = upcaster

    def upcast(self, event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring `data` of an older version up to the current one."""
        current = self.model(event_type).version
        if version > current:
            raise UnknownEventTypeError(
                f"{event_type} v{version} is newer than this code (v{current}); upgrade the consumer"
            )
        while version < current:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise UnknownEventTypeError(f"{event_type}: no upcaster from v{version}")
            data = step(data)
            version += 1
        return data


def _payload_classes() -> list[type[Payload]]:
    found: list[type[Payload]] = []
    for module in (commands, task_events, agent_commands, agent_events, deadletter):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Payload) and "event_type" in vars(value):
                if value.__module__ != module.__name__:
                    continue  # imported, not declared here (RefusedCommand never travels)
                found.append(value)
    return found


REGISTRY = PayloadRegistry(_payload_classes())
# v1 of a reclassification did not say who asked; `by` is optional, so v1 data is v2 data as it is.
REGISTRY.add_upcaster(commands.ReclassifyTask.event_type, 1, dict)
