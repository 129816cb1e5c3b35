"""A scripted day (Monday 2026-11-02, UTC) of tasks and agent actions whose report figures are known.

Queues: finance (thresholds 60/300/900 s, members a1, a2), claims (30/120 s, members a2, a3).
Agents: a1 ready 08:00-17:00 with lunch 12:00-12:30; a2 ready 08:00-16:00 with a RONA (09:05:40, 60 s)
and a break 10:00-10:15; a3 ready 09:00-13:00.

  T1 invoice finance  queued 09:00:00 (again 09:00:01: reclassified, the same visit), offer a1 09:00:11,
                      accepted 09:00:41 (wait 41),
                      done 09:10:41 "processed" + 30 s after-work            -> handle 630
  T2 invoice finance  queued 09:05:00, offer a2, RONA 09:05:40, offer a1, accepted 09:06:00 (wait 60),
                      done 09:26:00 without a code, no after-work              -> handle 1200, NS
  T3 claim   claims   queued 09:30:00, accepted by a3 09:30:20 (wait 20),
                      done 10:00:20 "processed" + 60 s                         -> handle 1860
  T4 claim   claims   queued 10:00:00, cancelled by its source 10:03:00         -> abandoned
  T5 invoice finance  due 12:00, queued 11:00:00, accepted by a2 11:25:00 (wait 1500),
                      done 12:25:00 "need_follow_up"                           -> handle 3600, finished overdue
  T6 claim   claims   queued 13:00:00, escalated 13:10 and moved to finance (claims visit: transferred);
             finance  queued 13:10:00, accepted by a1 13:15:30 (wait 330),
                      done 13:45:30 "processed" + 30 s                         -> handle 1830
  T7 invoice finance  due 15:00, queued 14:00:00, still waiting at the end of the day -> overdue
  T8 claim   claims   queued 15:00:00, expired 16:00:00                         -> abandoned
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from workrouter.contracts import task_events as te
from workrouter.contracts.agent_events import AgentPresenceChanged
from workrouter.contracts.envelope import Envelope, Payload, make_event

DAY = datetime(2026, 11, 2, tzinfo=UTC)
DOMAIN = "backoffice"
TYPES = {"T1": "invoice", "T2": "invoice", "T3": "claim", "T4": "claim", "T5": "invoice", "T6": "claim"}
TYPES |= {"T7": "invoice", "T8": "claim"}
QUEUE_OF = {"invoice": "finance", "claim": "claims"}


def at(clock: str) -> datetime:
    """`HH:MM[:SS]` on the scripted day."""
    parts = [int(p) for p in clock.split(":")] + [0]
    return DAY + timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


def write_config(folder: Path) -> Path:
    """queues.yaml, agents.yaml and codes.yaml of the scripted day."""
    folder.mkdir(parents=True, exist_ok=True)
    queues = [
        {"name": "finance", "domain": DOMAIN, "service_levels": ["60s", "5m", "15m"]},
        {"name": "claims", "domain": DOMAIN, "service_levels": ["30s", "2m"]},
    ]
    members = {"a1": ["finance"], "a2": ["finance", "claims"], "a3": ["claims"]}
    agents = [
        {
            "id": a,
            "display_name": a.upper(),
            "skills": {"general": 50},
            "queues": qs,
            "capacity": {"workitem": 2},
            "token_sha256": hashlib.sha256(f"{a}-token".encode()).hexdigest(),
        }
        for a, qs in members.items()
    ]
    codes = {
        "not_ready_reasons": [
            {"id": "rona", "label": "RONA", "system": True},
            {"id": "lunch", "label": "Lunch"},
            {"id": "break", "label": "Break"},
        ],
        "wrap_up_codes": [
            {"id": "processed", "label": "Processed"},
            {"id": "need_follow_up", "label": "Need follow-up"},
        ],
    }
    for name, doc in (("queues", {"queues": queues}), ("agents", {"agents": agents}), ("codes", codes)):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    return folder


class Script:
    """Builds the day's events in order: (topic kind 'tasks' or 'agents', envelope)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Envelope]] = []

    def task(self, clock: str, payload: te.TaskEvent) -> Envelope:
        env = make_event(payload, source="/test/day", key=payload.task_id, subject=payload.task_id, time=at(clock))
        self.events.append(("tasks", env))
        return env

    def agent(self, clock: str, agent: str, presence: str, reason: str | None = None) -> None:
        payload: Payload = AgentPresenceChanged(agent_id=agent, domain=DOMAIN, presence=presence, reason=reason)
        self.events.append(("agents", make_event(payload, source="/test/day", key=DOMAIN, time=at(clock))))

    def arrive(self, clock: str, task: str, *, queue: str | None = None, due: str | None = None) -> None:
        kind = TYPES[task]
        queue = queue or QUEUE_OF[kind]
        due_at = at(due) if due else None
        self.task(clock, te.TaskCaptured(task_id=task, source="crm", external_id=f"x-{task}", type=kind, title=task,
                                         due_at=due_at))  # fmt: skip
        self.classify(clock, task, queue, due_at)

    def classify(self, clock: str, task: str, queue: str, due_at: datetime | None = None) -> None:
        self.task(clock, te.TaskClassified(task_id=task, queue=queue, domain=DOMAIN, priority=100, rule="r",
                                           ruleset_version="v1", due_at=due_at))  # fmt: skip
        self.task(clock, te.TaskQueued(task_id=task, queue=queue, domain=DOMAIN, priority=100, sort_key="k"))

    def offer(self, clock: str, task: str, agent: str, queue: str) -> None:
        expires = at(clock) + timedelta(seconds=30)
        self.task(clock, te.TaskOffered(task_id=task, offer_id=f"{task}-{agent}", agent_id=agent, queue=queue, tier=0,
                                        offer_expires_at=expires))  # fmt: skip

    def accept(self, clock: str, task: str, agent: str, queue: str) -> Envelope:
        return self.task(clock, te.TaskAccepted(task_id=task, agent_id=agent, queue=queue))

    def done(self, clock: str, task: str, agent: str, code: str | None, after: float) -> None:
        if after > 0:
            self.task(clock, te.TaskWrapUpStarted(task_id=task, agent_id=agent, wrap_up_code=code,
                                                  after_work_seconds=after))  # fmt: skip
        self.task(clock, te.TaskCompleted(task_id=task, by="agent", agent_id=agent, wrap_up_code=code))


def scripted_day() -> tuple[list[tuple[str, Envelope]], Envelope]:
    """The day's events in publishing order, and one of them to publish twice (a redelivery)."""
    s = Script()
    s.agent("08:00", "a1", "ready")
    s.agent("08:00", "a2", "ready")
    s.agent("09:00", "a3", "ready")
    s.arrive("09:00:00", "T1")
    s.task("09:00:01", te.TaskQueued(task_id="T1", queue="finance", domain=DOMAIN, priority=100, sort_key="k2"))
    s.offer("09:00:11", "T1", "a1", "finance")
    twice = s.accept("09:00:41", "T1", "a1", "finance")
    s.arrive("09:05:00", "T2")
    s.offer("09:05:10", "T2", "a2", "finance")
    s.task("09:05:40", te.TaskOfferRevoked(task_id="T2", offer_id="T2-a2", agent_id="a2", reason="rona"))
    s.agent("09:05:40", "a2", "not_ready", "rona")
    s.offer("09:05:45", "T2", "a1", "finance")
    s.accept("09:06:00", "T2", "a1", "finance")
    s.agent("09:06:40", "a2", "ready")
    s.done("09:10:41", "T1", "a1", "processed", 30)
    s.done("09:26:00", "T2", "a1", None, 0)
    s.arrive("09:30:00", "T3")
    s.offer("09:30:05", "T3", "a3", "claims")
    s.accept("09:30:20", "T3", "a3", "claims")
    s.arrive("10:00:00", "T4")
    s.agent("10:00", "a2", "not_ready", "break")
    s.done("10:00:20", "T3", "a3", "processed", 60)
    s.task("10:03:00", te.TaskCancelled(task_id="T4", by="source", reason="customer withdrew"))
    s.agent("10:15", "a2", "ready")
    s.arrive("11:00:00", "T5", due="12:00")
    s.offer("11:20:00", "T5", "a2", "finance")
    s.accept("11:25:00", "T5", "a2", "finance")
    s.agent("12:00", "a1", "not_ready", "lunch")
    s.done("12:25:00", "T5", "a2", "need_follow_up", 0)
    s.agent("12:30", "a1", "ready")
    s.arrive("13:00:00", "T6")
    s.agent("13:00", "a3", "offline")
    s.task("13:10:00", te.TaskEscalated(task_id="T6", step="sla:claims:100%", actions=["move_queue"],
                                        target_queue="finance"))  # fmt: skip
    s.classify("13:10:00", "T6", "finance")
    s.offer("13:15:00", "T6", "a1", "finance")
    s.accept("13:15:30", "T6", "a1", "finance")
    s.done("13:45:30", "T6", "a1", "processed", 30)
    s.arrive("14:00:00", "T7", due="15:00")
    s.arrive("15:00:00", "T8")
    s.agent("16:00", "a2", "offline")
    s.task("16:00:00", te.TaskExpired(task_id="T8", expired_at=at("16:00")))
    s.agent("17:00", "a1", "offline")
    return s.events, twice
