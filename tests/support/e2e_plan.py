"""What the end-to-end test sends and what it intends for each task (pure: no I/O).

Every task has a *kind* (which queue the seed rules put it in), a *plan* (what the simulated
agents and source systems do with it) and a *way in* (REST single or bulk, or a command on
`wr.capture`, single or in a batch). The plan decides the terminal state the test expects.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from workrouter.domain.capture import task_id_for

KINDS = ("finance", "credit", "general", "claims", "tech", "experts", "sales")
KIND_WEIGHTS = (22, 14, 12, 12, 12, 5, 12)
# plan -> share of the tasks (the rest are "normal": worked and completed by whoever gets them)
SPECIAL = {
    "transfer": 0.03,  # the first agent transfers it to `general`; another completes it
    "reschedule": 0.03,  # the first agent reschedules it 3 s ahead; escalation wakes it; completed
    "escalate_push": 0.01,  # a Norwegian enquiry nobody in `general` may take, 10 s SLA: moved to supervisor
    "escalate_park": 0.006,  # a claim left in the workbin, 8 s SLA: parked in sam's personal workbin
    "cancel": 0.006,  # a claim left in the workbin, cancelled by its source
    "expire": 0.006,  # a claim left in the workbin until it expires
    "source_done": 0.006,  # a claim left in the workbin, completed by its source
}
SKIPPED = frozenset({"escalate_park", "cancel", "expire", "source_done"})  # claimers leave these alone
TERMINAL = {"cancel": "cancelled", "expire": "expired"}  # every other plan ends completed
KEYED_ONLY = frozenset({"cancel", "source_done"})  # later source commands must follow the capture in order
WAYS = ("rest_bulk", "rest_single", "kafka_single", "kafka_batch")
WAY_WEIGHTS = (35, 10, 25, 30)
EXPIRES_IN = 20.0  # seconds after sending, for plan "expire"


@dataclass(frozen=True)
class PlannedTask:
    """One task the test sends, and what it intends for it."""

    source: str
    external_id: str
    kind: str
    plan: str
    way: str
    body: dict[str, Any] = field(hash=False)

    @property
    def task_id(self) -> str:
        """workrouter's id of the task (derived from source and external id)."""
        return task_id_for(self.source, self.external_id)

    @property
    def terminal(self) -> str:
        """The terminal event the test expects: completed, cancelled or expired."""
        return TERMINAL.get(self.plan, "completed")

    @property
    def skipped(self) -> bool:
        """Whether workbin claimers leave it alone."""
        return self.plan in SKIPPED


@dataclass(frozen=True)
class Send:
    """One request or message: tasks of one source, sent one way."""

    way: str
    source: str
    tasks: tuple[PlannedTask, ...]


def _body(kind: str, n: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """(source, REST body) of a task of `kind`."""
    segment = rng.choice(["Gold", "Silver", "Bronze"])
    if kind == "finance":
        attrs: dict[str, Any] = {"department": "Finance", "segment": segment, "amount": rng.choice([120, 900, 6000])}
        return rng.choice(["bpm", "crm"]), {
            "type": "invoice_dispute",
            "title": f"Invoice dispute {n}",
            "attributes": attrs,
        }
    if kind == "credit":
        attrs = {"department": "Credit", "segment": segment}
        return "bpm", {"type": "credit_application", "title": f"Credit application {n}", "attributes": attrs}
    if kind == "general":
        attrs = {"language": rng.choice(["fr", "de", "nl"])}
        return "crm", {"type": "enquiry", "title": f"Question {n}", "attributes": attrs}
    if kind == "claims":
        attrs = {"department": "Claims", "amount": rng.randint(50, 20000), "language": rng.choice(["en", "fr"])}
        return rng.choice(["crm", "bpm"]), {"type": "claim", "title": f"Claim {n}", "attributes": attrs}
    if kind in ("tech", "experts"):
        attrs = {"department": "Technical", "severity": rng.choice(["low", "medium"])}
        if kind == "experts":
            attrs["product"] = "mainframe"
        source = "crm" if kind == "experts" else rng.choice(["ticketing", "crm"])
        return source, {"type": "tech_ticket", "title": f"Ticket {n}", "attributes": attrs}
    attrs = {"department": "Sales", "segment": segment, "value": rng.choice([500, 5000, 60000])}
    return "crm", {"type": "lead", "title": f"Lead {n}", "attributes": attrs}


def _special(plan: str, n: int, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
    """(kind, source, body) of a task with a special plan."""
    if plan == "transfer":
        kind = rng.choice(["finance", "credit"])
        return (kind, *_body(kind, n, rng))
    if plan == "reschedule":
        kind = rng.choice(["finance", "credit", "general", "sales"])
        return (kind, *_body(kind, n, rng))
    if plan == "escalate_push":
        body = {"type": "enquiry", "title": f"Spørsmål {n}", "attributes": {"language": "no"}, "sla_seconds": 10}
        return "general", "crm", body
    source = "crm" if plan == "escalate_park" else rng.choice(["crm", "bpm"])
    _, body = _body("claims", n, rng)
    body = {**body, "priority": 10}  # low: the claimers' workbins list it last
    if plan == "escalate_park":
        body["sla_seconds"] = 8
    return "claims", source, body


def plan_tasks(count: int, *, seed: int, prefix: str) -> list[PlannedTask]:
    """`count` tasks in sending order: the kinds by weight, each special plan by its share."""
    rng = random.Random(seed)
    plans = [p for p, share in SPECIAL.items() for _ in range(max(1, round(count * share)))]
    plans += ["normal"] * (count - len(plans))
    rng.shuffle(plans)
    tasks = []
    for n, plan in enumerate(plans):
        if plan == "normal":
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            source, body = _body(kind, n, rng)
        else:
            kind, source, body = _special(plan, n, rng)
        way = rng.choices(WAYS, WAY_WEIGHTS)[0]
        if plan in KEYED_ONLY and way == "kafka_batch":
            way = "kafka_single"
        external_id = f"{prefix}-{n:05d}"
        tasks.append(PlannedTask(source, external_id, kind, plan, way, {"external_id": external_id, **body}))
    return tasks


def sends(tasks: list[PlannedTask], *, chunk: int = 20) -> list[Send]:
    """Group tasks into requests/messages in about their order: bulk and batch ways by source, `chunk` at most."""
    out: list[Send] = []
    open_: dict[tuple[str, str], list[PlannedTask]] = {}
    for task in tasks:
        if task.way in ("rest_single", "kafka_single"):
            out.append(Send(task.way, task.source, (task,)))
            continue
        group = open_.setdefault((task.way, task.source), [])
        group.append(task)
        if len(group) >= chunk:
            out.append(Send(task.way, task.source, tuple(group)))
            group.clear()
    out += [Send(way, source, tuple(group)) for (way, source), group in open_.items() if group]
    return out


class Script:
    """What the agents share: each task's plan, the hand-backs done, and counts of what they did."""

    def __init__(self) -> None:
        self.plans: dict[str, PlannedTask] = {}
        self.handed_back: set[str] = set()
        self.did: Counter[str] = Counter()
        self.problems: list[str] = []  # what an agent could not do (a defect of the simulation or the api)

    def add(self, tasks: list[PlannedTask]) -> None:
        """Learn the plans of tasks about to be sent."""
        self.plans.update((t.task_id, t) for t in tasks)

    def hand_back(self, task_id: str) -> str | None:
        """`transfer` or `reschedule` the first time an agent works a task planned so; else None."""
        plan = self.plans.get(task_id)
        if plan is None or plan.plan not in ("transfer", "reschedule") or task_id in self.handed_back:
            return None
        self.handed_back.add(task_id)
        return plan.plan

    def skipped(self, task_id: str) -> bool:
        """Whether claimers leave the task in the workbin."""
        plan = self.plans.get(task_id)
        return plan is not None and plan.skipped
