"""What the agent desktop shows, from the same snapshot the agent's event stream sends (streams.snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from workrouter.config.routing import RoutingConfig

SAFE_SCHEMES = ("http", "https")
WORK_STATES = ("assigned", "claimed", "after_work")  # what "My work" lists; offers have their own panel


@dataclass(frozen=True, slots=True)
class Code:
    """A code of codes.yaml as a picker shows it."""

    id: str
    label: str


def screen_pop(url: object) -> str | None:
    """The task's URL if it is safe to open (http or https with a host), else None: never javascript:, data:
    or anything else a work item could carry."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc else None


def not_ready_reasons(routing: RoutingConfig) -> list[Code]:
    """The reasons an agent may pick (the router's own, such as RONA, are left out), in codes.yaml's order."""
    return [Code(i, c.label) for i, c in routing.not_ready_reasons.items() if not c.system]


def wrap_up_codes(routing: RoutingConfig) -> list[Code]:
    """Every wrap-up code of codes.yaml, in its order."""
    return [Code(i, c.label) for i, c in routing.wrap_up_codes.items()]


def reason_label(routing: RoutingConfig, reason: str | None) -> str | None:
    """The label of a not-ready reason (its id when codes.yaml no longer has it)."""
    if reason is None:
        return None
    code = routing.not_ready_reasons.get(reason)
    return code.label if code is not None else reason


def desk(snapshot: dict[str, Any], routing: RoutingConfig) -> dict[str, Any]:
    """The template context of the desktop's live sections: status, offers, my work."""
    holds: list[dict[str, Any]] = snapshot["holds"]
    presence, reason = snapshot["presence"], snapshot["reason"]
    return {
        "agent_id": snapshot["agent_id"],
        "presence": presence,
        "reason": reason,
        "reason_label": reason_label(routing, reason),
        "status_value": f"not_ready:{reason}" if presence == "not_ready" and reason else presence,
        "reasons": not_ready_reasons(routing),
        "wrap_up_codes": wrap_up_codes(routing),
        "offers": [{**h, "screen_pop": screen_pop(h.get("url"))} for h in holds if h["state"] == "offered"],
        "work": [{**h, "screen_pop": screen_pop(h.get("url"))} for h in holds if h["state"] in WORK_STATES],
    }
