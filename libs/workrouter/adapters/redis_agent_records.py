"""Records the Redis agent store reads and writes, and their (de)coding from Redis hashes."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal, NamedTuple, get_args

from workrouter.domain.routing.model import AgentProfile, Presence

HoldKind = Literal["offer", "claim", "assign"]
_KINDS: frozenset[str] = frozenset(get_args(HoldKind))


class ReserveResult(StrEnum):
    """The outcome of a reserve: OK, or why it was refused."""

    OK = "ok"
    TAKEN = "taken"  # the task is already held, by any agent (this one included)
    NOT_READY = "not_ready"  # readiness was required and the agent's presence is not READY
    NO_CAPACITY = "no_capacity"  # channel_free() says no: capacity full or blending rules
    UNKNOWN_AGENT = "unknown_agent"  # no profile stored for the agent

    @property
    def ok(self) -> bool:
        """True when the task was reserved."""
        return self is ReserveResult.OK


class PresenceState(NamedTuple):
    """An agent's presence, why, since when, and its version (0 when never set)."""

    presence: Presence
    reason: str | None
    since: float
    version: int


class Holder(NamedTuple):
    """Who holds a task, on which channel, how (offer, claim or assign) and since when."""

    agent_id: str
    channel: str
    kind: HoldKind
    since: float


AgentSnapshot = tuple[AgentProfile, PresenceState, dict[str, int], set[str]]


class IdleClock(NamedTuple):
    """When the agent was last given a task and last had one end (None: not since the store knew it)."""

    given_at: float | None
    freed_at: float | None


NO_PRESENCE = PresenceState(Presence.OFFLINE, None, 0.0, 0)


def text(value: Any) -> str:
    """A Redis reply as str, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else str(value)


def hold_kind(kind: str) -> HoldKind:
    """The kind, checked to be offer, claim or assign."""
    if kind not in _KINDS:
        raise ValueError(f"hold kind must be one of {sorted(_KINDS)}, not {kind!r}")
    return kind  # type: ignore[return-value]


def decoded(row: dict[Any, Any]) -> dict[str, str]:
    """A hash reply with str keys and values."""
    return {text(k): text(v) for k, v in row.items()}


def profile_from(agent_id: str, fields: dict[str, str]) -> AgentProfile | None:
    """The profile stored in an agent hash, or None when it holds none."""
    if "capacity" not in fields:
        return None
    return AgentProfile(
        agent_id=agent_id,
        skills={k: int(v) for k, v in json.loads(fields.get("skills", "{}")).items()},
        queues=frozenset(json.loads(fields.get("queues", "[]"))),
        capacity={k: int(v) for k, v in json.loads(fields["capacity"]).items()},
        exclusive_channels=frozenset(json.loads(fields.get("exclusive", "[]"))),
        auto_answer=fields.get("auto_answer") == "1",
    )


def presence_from(fields: dict[str, Any]) -> PresenceState:
    """The presence stored in an agent hash (fields may be None, bytes or str)."""
    values = {k: None if v is None else text(v) for k, v in fields.items()}
    presence = values.get("presence")
    if presence is None:
        return NO_PRESENCE
    return PresenceState(
        Presence(presence),
        values.get("reason"),
        float(values.get("since") or 0.0),
        int(values.get("version") or 0),
    )


def holder_from(fields: dict[str, str]) -> Holder | None:
    """The holder record in a task holder hash, or None when the task is not held."""
    if "agent" not in fields:
        return None
    return Holder(fields["agent"], fields["channel"], hold_kind(fields["kind"]), float(fields["since"]))
