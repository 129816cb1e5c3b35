"""May an agent act on a task now? Judged from the live store: the task's holder record and its queue entry.

The api refuses here what it can already see the router would ignore, instead of answering 202: a task the
domain does not know (404), another agent's (403), one that is waiting, parked, finished or no longer queued,
or held in another way than the command needs (409). Every refusal says what state the task is in (`state`)
and what to do. The store can be a moment behind the router (a command sent just before is not carried out
yet), so the router still ignores a stale command that gets through: this is the early, explained answer,
not the authority.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workrouter.adapters.redis_agent_records import Holder
from workrouter.contracts.common import FieldError
from workrouter.domain.routing.holds import HELD_STATE, offer_id
from workrouter.services.api.agent_views import iso
from workrouter.services.api.errors import HttpError, problem

NEXT_STEP = {
    "offer": "accept or reject the offer first",
    "claim": "start the claimed task first (POST .../start)",
    "assign": "it is already assigned to you",
}


@dataclass(frozen=True, slots=True)
class Ask:
    """What an agent asks to do: `action` the task, which it must hold as one of `kinds`."""

    task_id: str
    agent_id: str
    domain: str
    kinds: tuple[str, ...]
    action: str


def require_hold(ask: Ask, holder: Holder | None, entry: dict[str, Any] | None) -> Holder:
    """The agent's hold on the task, if it may do what it asks; raises the refusal otherwise."""
    if holder is None:
        raise _not_held(ask, entry)
    if (refusal := _refusal(ask, holder, entry)) is not None:
        raise refusal
    return holder


def _refusal(ask: Ask, holder: Holder, entry: dict[str, Any] | None) -> HttpError | None:
    task_id, action = ask.task_id, ask.action
    if holder.agent_id != ask.agent_id:
        msg = f"task {task_id} is held by another agent; an agent acts only on its own offers and tasks"
        return HttpError(problem(403, msg))
    if entry is None:  # a claim that raced a withdrawal: the router releases it when it hears of the claim
        msg = (
            f"task {task_id} is no longer queued in {ask.domain} (cancelled, completed or moved as you took it); "
            f"the router releases your hold; there is nothing to {action}"
        )
        return _conflict("gone", msg)
    if (until := entry.get("after_work_until")) is not None:
        msg = (
            f"task {task_id} is completed already (in after-work until {iso(float(until))}); "
            f"nothing more can be done with it, so you cannot {action} it"
        )
        return _conflict("after_work", msg)
    if holder.kind not in ask.kinds:
        state, step = HELD_STATE[holder.kind], NEXT_STEP[holder.kind]
        return _conflict(state, f"task {task_id} is {state} to you; to {action} it, {step}")
    return None


def offer_refusal(task_id: str, holder: Holder, sent: str | None) -> HttpError | None:
    """Why an answer naming offer `sent` does not answer the offer the agent holds now, or None."""
    current = offer_id(task_id, holder.agent_id, holder.since)
    if sent is None or sent == current:
        return None
    msg = (
        f"offer {sent!r} is not open: it was answered, timed out or withdrawn; the offer of task {task_id} "
        f"you hold now is {current} (GET /v1/agent/me); answer that one, or send no offer_id"
    )
    errors = [FieldError(loc="body.offer_id", msg=msg)]
    return HttpError(problem(409, f"body.offer_id: {msg}", errors, state="offered", offer_id=current))


def _not_held(ask: Ask, entry: dict[str, Any] | None) -> HttpError:
    task_id, action = ask.task_id, ask.action
    if entry is None:
        msg = (
            f"unknown task {task_id!r}: nobody holds it and it is not queued in {ask.domain}; it was completed, "
            "cancelled, handed back or moved, or never existed (GET /v1/agent/me lists what you hold)"
        )
        return HttpError(problem(404, msg, state="unknown"))
    if entry.get("after_work_until") is not None:
        return _conflict("after_work", f"task {task_id} is completed already; you cannot {action} it")
    parked_for = entry.get("parked_for")
    if parked_for == ask.agent_id:
        msg = f"task {task_id} is parked in your personal workbin; claim it (POST /v1/agent/claim/{task_id}) first"
        return _conflict("parked", f"{msg}, then {action} it")
    if parked_for is not None:
        return _conflict("parked", f"task {task_id} is parked in {parked_for}'s personal workbin; cannot {action} it")
    msg = (
        f"task {task_id} is waiting in queue {entry.get('queue')}, not held by you (an offer or claim of yours "
        f"ended: answered, timed out or revoked); cannot {action} it"
    )
    return _conflict("waiting", msg)


def _conflict(state: str, msg: str) -> HttpError:
    return HttpError(problem(409, msg, state=state))
