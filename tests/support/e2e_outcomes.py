"""What the run's outside world saw, checked against the event log (pure): callbacks, the script, the event log.

- Callbacks: for each task of a source that takes callbacks, every event the source subscribes to,
  up to and including the event that ended the task, must have been acknowledged by the source
  exactly under that event's id, with a body naming that event and task; nothing else may have been.
  (A source may see a key again — a retry whose answer was lost — which it acknowledges once.)
- The script: each plan left its marks (a transfer a reclassification, a reschedule a wake-up, ...),
  so a run that silently skipped a path does not pass.
- The reporting service's event log holds exactly the events that were on the topics.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from tests.support.e2e_checks import TERMINAL, describe, histories, kind
from workrouter.contracts.envelope import Envelope

CALLBACK_EVENTS = ("completed", "cancelled", "expired", "escalated", "rescheduled")


def expected_callbacks(
    events: list[Envelope], subscriptions: Mapping[str, Collection[str]]
) -> dict[str, tuple[str, str, str]]:
    """Idempotency key -> (source, task id, callback event) of every callback the log calls for."""
    out: dict[str, tuple[str, str, str]] = {}
    for task_id, history in histories(events).items():
        captured = next((e for e in history if kind(e) == "captured"), None)
        if captured is None:
            continue
        source: str = captured.data.source  # type: ignore[attr-defined]
        wanted = subscriptions.get(source, ())
        for envelope in history:
            k = kind(envelope)
            if k in CALLBACK_EVENTS and k in wanted:
                out[envelope.id] = (source, task_id, k)
            if k in TERMINAL:
                break
    return out


def callback_problems(
    events: list[Envelope], subscriptions: Mapping[str, Collection[str]], acked: Mapping[str, Mapping[str, bytes]]
) -> list[str]:
    """Callbacks missing, acknowledged though not called for, or with a body that names another event or task.

    `acked`: source -> idempotency key -> the body the source acknowledged first.
    """
    expected = expected_callbacks(events, subscriptions)
    problems: list[str] = []
    for key, (source, task_id, event) in sorted(expected.items(), key=lambda kv: kv[1]):
        body = acked.get(source, {}).get(key)
        if body is None:
            problems.append(f"missing: {source} never acknowledged {event} of {task_id} (key {key})")
            continue
        doc: dict[str, Any] = json.loads(body)
        if doc.get("event") != event or doc.get("task", {}).get("task_id") != task_id or doc.get("id") != key:
            problems.append(f"wrong body for {key}: expected {event} of {task_id}, got {body[:200]!r}")
    for source, keys in sorted(acked.items()):
        for key in sorted(set(keys) - set(expected)):
            problems.append(f"unexpected: {source} acknowledged {key}: {keys[key][:200]!r}")
    return problems


def _has(history: list[Envelope], k: str, **fields: Any) -> bool:
    return any(kind(e) == k and all(getattr(e.data, f, None) == v for f, v in fields.items()) for e in history)


def _moved_to_supervisor(history: list[Envelope]) -> bool:
    moved = any(kind(e) == "escalated" and "move_queue" in e.data.actions for e in history)  # type: ignore[attr-defined]
    return moved and _has(history, "accepted", queue="supervisor")


# plan or kind -> (what must be in the task's history, in words; the test)
MARKS: dict[str, tuple[str, Callable[[list[Envelope]], bool]]] = {
    "transfer": ("a reclassification (transfer)", lambda h: _has(h, "reclassify_task")),
    "reschedule": (
        "rescheduled by an agent and woken by the timer",
        lambda h: _has(h, "rescheduled", by="agent") and _has(h, "resumed", by="timer"),
    ),
    "escalate_push": ("escalated to the supervisor queue and accepted there", _moved_to_supervisor),
    "escalate_park": (
        "parked in sam's workbin and claimed from it",
        lambda h: _has(h, "parked", agent_id="sam") and _has(h, "accepted", how="personal"),
    ),
    "source_done": ("completed by its source", lambda h: _has(h, "completed", by="source")),
    "claims": ("claimed from the workbin", lambda h: _has(h, "accepted", how="pull")),
    "experts": ("taken with get-next", lambda h: _has(h, "accepted", how="get_next")),
}


def plan_problems(events: list[Envelope], intents: Mapping[str, tuple[str, str]]) -> list[str]:
    """Tasks whose history lacks the marks of their plan. `intents`: task id -> (kind, plan)."""
    by_task = histories(events)
    problems = []
    for task_id, (task_kind, plan) in sorted(intents.items()):
        mark = MARKS.get(plan) or (MARKS.get(task_kind) if plan == "normal" else None)
        if mark is not None and not mark[1](by_task.get(task_id, [])):
            problems.append(f"{task_id} ({task_kind}, {plan}): not {mark[0]}: {describe(by_task.get(task_id, []))}")
    return problems


def log_differences(recorded: Collection[str], logged: Collection[str]) -> list[str]:
    """Event ids on the topics but not in the event log, and the other way round."""
    missing, extra = set(recorded) - set(logged), set(logged) - set(recorded)
    problems = [f"not in the event log: {len(missing)} events, e.g. {sorted(missing)[:5]}"] if missing else []
    return problems + ([f"in the event log only: {len(extra)} events, e.g. {sorted(extra)[:5]}"] if extra else [])
