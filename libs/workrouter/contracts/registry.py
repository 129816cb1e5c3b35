"""Which payload model each wire type maps to, and how old versions are upcast (by the upcasters each
model declares beside its fields, `Payload.upcasters`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from workrouter.contracts import agent_commands, agent_events, commands, deadletter, task_events
from workrouter.contracts.envelope import Payload, Upcaster


class UnknownEventTypeError(LookupError):
    """The wire type is not one this code knows."""


def upcaster_chain(model: type[Payload]) -> Mapping[int, Upcaster]:
    """The model's upcasters, checked: each from a version before the current one, and one from every such
    version, so that data of any older version reaches the current one; ValueError naming the fault."""
    current, declared = model.version, model.upcasters
    for from_version in sorted(declared):
        if not 1 <= from_version < current:
            raise ValueError(f"{model.event_type}: cannot upcast from v{from_version} (current v{current})")
    missing = [f"v{v}" for v in range(1, current) if v not in declared]
    if missing:
        raise ValueError(
            f"{model.event_type} is v{current} but declares no upcaster from {', '.join(missing)}: "
            "every older version needs one (`upcasters` beside its fields)"
        )
    return declared


class PayloadRegistry:
    """Maps `type` to the current payload model; upcasts older versions step by step."""

    def __init__(self, models: Iterable[type[Payload]]) -> None:
        self._models: dict[str, type[Payload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for model in models:
            if model.event_type in self._models:
                raise ValueError(f"duplicate event type {model.event_type!r}")
            self._models[model.event_type] = model
            for from_version, upcaster in upcaster_chain(model).items():
                self._upcasters[(model.event_type, from_version)] = upcaster

    def model(self, event_type: str) -> type[Payload]:
        """The current model for a type, or UnknownEventTypeError."""
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventTypeError(f"unknown event type {event_type!r}") from None

    def models(self) -> list[type[Payload]]:
        """All registered models, sorted by type."""
        return [self._models[t] for t in sorted(self._models)]

    def upcast(self, event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring `data` of an older version up to the current one."""
        current = self.model(event_type).version
        if version > current:
            raise UnknownEventTypeError(
                f"{event_type} v{version} is newer than this code (v{current}); upgrade the consumer"
            )
        for from_version in range(version, current):  # the chain is whole: checked when the model was added
            data = self._upcasters[(event_type, from_version)](data)
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
