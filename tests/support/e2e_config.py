"""The end-to-end test's configuration: the seed config copied and edited for a fast, busy run.

Short offer timeouts and tier widening in seconds, 35 agents with their own tokens in four roles
(push agents answering offers or answered automatically, workbin claimers, get-next agents,
supervisors), after-work time on finance only (a wrap-up event per task costs every consumer), two source systems
calling back to the test's HTTP servers, a work type for the `general` queue and a rule that sends
mainframe tickets to the `experts` workbin. Escalation keeps the seed's SLA ladders and OLAs (the
due-date steps are left out: they would re-file every task with a due date inside a day at capture).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tests.support.infra import ROOT
from workrouter.config.credentials import new_secret
from workrouter.config.sources import hash_api_key

SEED = ROOT / "deploy" / "config"
# fresh for each test run: `workrouter service` refuses the shipped example keys (docs/security.md)
API_KEYS = {name: new_secret() for name in ("crm", "bpm", "ticketing")}
WRAP_UP_CODES = ("processed", "cross_sell", "up_sell", "need_follow_up", "not_right_skill")
Role = Literal["push", "pull", "next", "supervisor"]

# name, domain, mode, strategy, tiers [(min_level, after s)], offer timeout, after-work s, service levels
QUEUES: list[tuple[str, str, str, str, list[tuple[int, float]], float, float, list[int]]] = [
    ("finance", "backoffice", "push", "longest_idle", [(70, 0), (40, 2), (10, 4)], 4, 0.5, [2, 5, 15, 60]),
    ("credit", "backoffice", "push", "least_occupied", [(60, 0), (30, 2), (0, 5)], 4, 0, [2, 5, 15]),
    ("general", "backoffice", "push", "round_robin", [(0, 0)], 4, 0, [2, 10, 60]),
    ("claims", "backoffice", "pull", "longest_idle", [(70, 0), (40, 2), (30, 4)], 2, 0, [5, 30, 120]),
    ("supervisor", "backoffice", "push", "least_occupied", [(0, 0)], 5, 0, [5, 30, 120]),
    ("technical", "support", "push", "most_skilled", [(70, 0), (50, 2), (30, 4)], 4, 0, [2, 5, 15, 60]),
    ("experts", "support", "pull", "longest_idle", [(80, 0)], 2, 0, [5, 30]),
    ("sales", "sales", "push", "balanced_effort", [(50, 0), (20, 3)], 4, 0, [2, 5, 15]),
]
CLAIM_TIMEOUT = {"claims": 30.0, "experts": 30.0}


@dataclass(frozen=True)
class AgentSpec:
    """One simulated agent: what agents.yaml says about it and how the simulation drives it."""

    id: str
    role: Role
    queues: tuple[str, ...]
    skills: dict[str, int] = field(default_factory=dict)
    capacity: int = 2
    auto_answer: bool = False  # offers are accepted by the router for it (no answer over the API)

    @property
    def token(self) -> str:
        """The agent's API token (its SHA-256 is in agents.yaml)."""
        return f"{self.id}-e2e-token"


def _agents() -> list[AgentSpec]:
    finance, credit = [85, 75, 60, 50, 45, 35, 72], [70, 65, 50, 40, 30, 25, 62]
    langs = ["lang:fr", "lang:de", "lang:nl"]
    agents = [
        AgentSpec(
            f"b{i:02d}",
            "push",
            ("finance", "credit", "general"),
            {"finance": finance[i % 7], "credit": credit[(i + 3) % 7], langs[i % 3]: 90, langs[(i + 1) % 3]: 65},
            2 + i % 2,
            auto_answer=i % 2 == 0,
        )
        for i in range(14)
    ]
    claims = [80, 75, 60, 50, 45, 35]
    agents += [
        AgentSpec(f"c{i:02d}", "pull", ("claims",), {"claims": claims[i], "lang:fr": 70 if i % 2 else 40}, 3)
        for i in range(6)
    ]
    boss = dict.fromkeys(("finance", "credit", "claims", "lang:fr", "lang:de", "lang:nl", "lang:no"), 90)
    agents += [AgentSpec(name, "supervisor", ("supervisor",), boss, 4) for name in ("sam", "tess")]
    technical = [65, 60, 55, 50, 40, 35]  # nobody reaches the first tier (70): every ticket waits for widening
    agents += [
        AgentSpec(f"t{i:02d}", "push", ("technical",), {"technical": technical[i]}, 2 + i % 2, auto_answer=i % 2 == 0)
        for i in range(6)
    ]
    agents += [AgentSpec(f"x{i:02d}", "next", ("experts",), {"technical": 85 + 5 * i}, 2) for i in range(3)]
    sales = [70, 60, 40, 25]
    agents += [AgentSpec(f"s{i:02d}", "push", ("sales",), {"sales": sales[i]}, 3, i % 2 == 0) for i in range(4)]
    return agents


AGENTS: list[AgentSpec] = _agents()
CAPACITY: dict[str, int] = {a.id: a.capacity for a in AGENTS}
SKILLS: dict[str, dict[str, int]] = {a.id: a.skills for a in AGENTS}
TIERS: dict[str, list[tuple[int, float]]] = {q[0]: q[4] for q in QUEUES}
AFTER_WORK: dict[str, float] = {q[0]: q[6] for q in QUEUES}


def _queues_yaml() -> dict[str, Any]:
    queues = []
    for name, domain, mode, strategy, tiers, offer, after, levels in QUEUES:
        doc: dict[str, Any] = {
            "name": name,
            "domain": domain,
            "mode": mode,
            "strategy": strategy,
            "tiers": [{"min_level": level, "after_seconds": after_s} for level, after_s in tiers],
            "offer_timeout_seconds": offer,
            "after_work_seconds": after,
            "service_levels": levels,
        }
        if name in CLAIM_TIMEOUT:
            doc["claim_timeout_seconds"] = CLAIM_TIMEOUT[name]
        if strategy == "balanced_effort":
            doc["effort_window_seconds"] = "1h"
        queues.append(doc)
    return {"queues": queues}


def _agents_yaml() -> dict[str, Any]:
    return {
        "agents": [
            {
                "id": a.id,
                "display_name": f"Agent {a.id.upper()}",
                "skills": a.skills,
                "queues": list(a.queues),
                "capacity": {"workitem": a.capacity},
                "supervisor": a.role == "supervisor",
                "auto_answer": a.auto_answer,
                "token_sha256": hashlib.sha256(a.token.encode()).hexdigest(),
            }
            for a in AGENTS
        ]
    }


def _sources_yaml(callbacks: dict[str, tuple[str, str, list[str]]], folder: Path) -> dict[str, Any]:
    sources = []
    for name, key in API_KEYS.items():
        doc: dict[str, Any] = {"name": name, "api_key_sha256": hash_api_key(key)}
        if name in callbacks:
            url, secret, events = callbacks[name]
            (folder / "secrets").mkdir(exist_ok=True)
            (folder / "secrets" / name).write_text(secret)
            doc.update(callback_url=url, callback_secret_file=f"secrets/{name}", callback_events=events)
        sources.append(doc)
    return {"sources": sources}


def _edit_worktypes(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    schema = {"type": "object", "properties": {"language": {"type": "string"}, "segment": {"type": "string"}}}
    doc["worktypes"].append(
        {
            "name": "enquiry",
            "description": "A customer question without a department: routed by language",
            "defaults": {"queue": "general", "priority": 300, "due": "1d", "expiry": "30d"},
            "attributes": {"version": 1, "schema": schema},
        }
    )
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _edit_rules(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    rule = {
        "id": "experts-mainframe",
        "description": "Mainframe tickets go straight to the experts' workbin",
        "when": {
            "all": [{"field": "type", "equals": "tech_ticket"}, {"field": "attributes.product", "equals": "mainframe"}]
        },
        "set": {"queue": "experts", "skills": [{"skill": "technical", "min_level": 80}], "priority": "high"},
    }
    at = next(i for i, r in enumerate(doc["rules"]) if r["id"] == "tech-critical")
    doc["rules"].insert(at, rule)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def write_config(folder: Path, callbacks: dict[str, tuple[str, str, list[str]]]) -> Path:
    """The seed config in `folder`, edited as the module docstring says; `callbacks`: source -> (url, secret,
    events)."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(SEED, folder)
    for name, doc in (
        ("queues", _queues_yaml()),
        ("agents", _agents_yaml()),
        ("sources", _sources_yaml(callbacks, folder)),
    ):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    escalation = yaml.safe_load((folder / "escalation.yaml").read_text())
    escalation.pop("reprioritise", None)
    (folder / "escalation.yaml").write_text(yaml.safe_dump(escalation, sort_keys=False))
    _edit_worktypes(folder / "worktypes.yaml")
    _edit_rules(folder / "rules.yaml")
    return folder
