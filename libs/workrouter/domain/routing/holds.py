"""What a hold on a task is called, and the id of an offer derived from its hold (pure).

The Redis holder record of a task (agent, channel, kind, since) is the truth about who has it. An
offer's id is derived from that record, so the router, a new router owner after failover, and the
api (answering an offer whose id the agent did not send) all name it the same.
"""

from __future__ import annotations

import uuid
from typing import Literal

HoldKind = Literal["offer", "claim", "assign"]
HeldState = Literal["offered", "claimed", "assigned"]

HELD_STATE: dict[str, HeldState] = {"offer": "offered", "claim": "claimed", "assign": "assigned"}

_OFFER_IDS = uuid.UUID("5b0d3c1e-9a52-4c1e-8a53-7f3a2b1c0d9e")


def offer_id(task_id: str, agent_id: str, since: float) -> str:
    """The id of the offer (or get-next claim) of `task_id` to `agent_id` held since `since` (epoch seconds)."""
    return str(uuid.uuid5(_OFFER_IDS, f"{task_id}\x1f{agent_id}\x1f{since!r}"))
