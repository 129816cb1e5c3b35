"""The end-to-end benchmark's configuration and work: a copy of deploy/config with enough agents, and tasks.

The copy keeps the seed rules, work types, escalation and calendars; it adds generated agents with
high skills and ample capacity in each routing domain, drops the queues' after-work time (capacity is
free again as soon as an agent finishes), and points the sources' callbacks at the benchmark's sink.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.infra import ROOT
from workrouter.config.credentials import issue_credentials
from workrouter.config.routing import load_routing_config
from workrouter.config.sources import DEFAULT_CALLBACK_EVENTS
from workrouter.contracts.commands import CaptureTask

# domain -> (queues, skills) of its generated agents, and the share of the agents it gets
AGENT_KINDS: dict[str, tuple[list[str], dict[str, int], float]] = {
    "backoffice": (["finance", "credit", "general"], {"finance": 95, "credit": 95, "lang:fr": 90, "lang:de": 90}, 0.5),
    "support": (["technical"], {"technical": 95, "lang:de": 90}, 0.25),
    "sales": (["sales"], {"sales": 95, "lang:no": 90}, 0.25),
}
LANGUAGES = ("en", "en", "en", "fr", "de", "nl")
SEGMENTS = ("Gold", "Silver", "Bronze")


@dataclass(frozen=True)
class BenchConfig:
    """The config folder, the generated agents (id -> routing domain), the routing domains of the queues, and
    the events each source with a callback_url is called back for."""

    folder: Path
    agents: dict[str, str]
    domains: frozenset[str]
    subscriptions: dict[str, frozenset[str]]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _dump(path: Path, doc: Any) -> None:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def write_config(folder: Path, agents: int, capacity: int, callback_url: str) -> BenchConfig:
    """Copy deploy/config to `folder` and edit it for the benchmark; returns the generated agents."""
    shutil.copytree(ROOT / "deploy" / "config", folder)
    issue_credentials(folder)  # `workrouter service` refuses the shipped examples; the benchmark needs none of them
    queues = _load(folder / "queues.yaml")
    for queue in queues["queues"]:
        queue.pop("after_work_seconds", None)  # the default is 0: capacity is free once the agent finishes
    _dump(folder / "queues.yaml", queues)
    sources = _load(folder / "sources.yaml")
    subscriptions: dict[str, frozenset[str]] = {}
    for source in sources["sources"]:
        if source.get("callback_url"):
            source["callback_url"] = callback_url
            subscriptions[source["name"]] = frozenset(source.get("callback_events", DEFAULT_CALLBACK_EVENTS))
    _dump(folder / "sources.yaml", sources)
    doc = _load(folder / "agents.yaml")  # the demo agents stay (escalation.yaml names some), offline
    generated: dict[str, str] = {}
    for domain, (queue_names, skills, share) in AGENT_KINDS.items():
        for n in range(max(1, round(agents * share))):
            agent_id = f"bench-{domain}-{n:03d}"
            generated[agent_id] = domain
            doc["agents"].append(
                {
                    "id": agent_id,
                    "display_name": f"Bench {domain} {n}",
                    "skills": dict(skills),
                    "queues": list(queue_names),
                    "capacity": {"workitem": capacity},
                    "token_sha256": hashlib.sha256(f"{agent_id}-token".encode()).hexdigest(),
                }
            )
    _dump(folder / "agents.yaml", doc)
    domains = frozenset(load_routing_config(folder).domains())
    return BenchConfig(folder, generated, domains, subscriptions)


def capture_command(run: str, n: int, rng: random.Random) -> CaptureTask:
    """A realistic work item: finance (35 %), credit (15 %), technical (25 %) or sales (25 %), all push queues."""
    roll = rng.random()
    segment, language = rng.choice(SEGMENTS), rng.choice(LANGUAGES)
    external_id = f"{run}-{n:07d}"
    if roll < 0.35:
        source, worktype, department = rng.choice(("crm", "bpm")), "invoice_dispute", "Finance"
        title = f"Customer disputes invoice INV-{n:07d} and asks for a credit note"
        extra: dict[str, Any] = {"amount": round(rng.uniform(20, 9000), 2), "invoice": f"INV-{n:07d}"}
    elif roll < 0.5:
        source, worktype, department = "bpm", "credit_application", "Credit"
        title = f"Credit limit review for account {n % 9973}"
        extra = {"amount": round(rng.uniform(1000, 50000), 2)}
    elif roll < 0.75:
        source, worktype, department = "ticketing", "tech_ticket", "Technical"
        title = f"Cannot log in to the customer portal after password reset (ticket {n})"
        extra = {"severity": rng.choice(("low", "medium", "medium", "high", "critical")), "product": "portal"}
    else:
        source, worktype, department = "crm", "lead", "Sales"
        title = f"Call back prospect about the premium plan (lead {n})"
        extra = {"value": round(rng.uniform(500, 80000), 2)}
    attributes = {"department": department, "segment": segment, "language": language, **extra}
    if rng.random() < 0.05:
        attributes["vip"] = True
    return CaptureTask(
        source=source,
        external_id=external_id,
        type=worktype,
        title=title,
        url=f"https://{source}.example.com/items/{external_id}",
        attributes=attributes,
    )
