"""The router's configuration: queues.yaml, agents.yaml and codes.yaml, loaded and cross-checked together.

Checked with the other files by `workrouter config check DIR`; its JSON Schema is written by
`workrouter config schemas docs`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from workrouter.config.files import ConfigError
from workrouter.config.routing_agents import AgentConfig, AgentsConfigFile
from workrouter.config.routing_codes import Code, CodesConfigFile, NotReadyReason
from workrouter.config.routing_queues import QueueConfig, QueuesConfigFile
from workrouter.config.rules_file import read_rule_file
from workrouter.config.sources import hash_api_key
from workrouter.domain.routing.model import AgentProfile, QueuePolicy
from workrouter.domain.rules import RuleSetError

M = TypeVar("M", bound=BaseModel)
SCHEMAS: dict[str, type[BaseModel]] = {
    "queues.schema.json": QueuesConfigFile,
    "agents.schema.json": AgentsConfigFile,
    "codes.schema.json": CodesConfigFile,
}
_ENTRIES = {
    "queues": ("queue", "name"),
    "agents": ("agent", "id"),
    "not_ready_reasons": ("reason", "id"),
    "wrap_up_codes": ("code", "id"),
}


@dataclass(frozen=True)
class RoutingConfig:
    """Queue policies and agent profiles by name, token and password hashes by agent, and the codes agents pick from."""

    queues: dict[str, QueuePolicy]
    agents: dict[str, AgentProfile]
    agent_tokens: dict[str, str]
    not_ready_reasons: dict[str, NotReadyReason]
    wrap_up_codes: dict[str, Code]
    supervisors: frozenset[str] = frozenset()
    agent_passwords: dict[str, str] = field(default_factory=dict)

    def domains(self) -> dict[str, tuple[str, ...]]:
        """Each routing domain's queue names, in file order."""
        domains: dict[str, tuple[str, ...]] = {}
        for queue in self.queues.values():
            domains[queue.domain] = (*domains.get(queue.domain, ()), queue.name)
        return domains

    def agent_for_token(self, token: str) -> str | None:
        """The id of the agent whose API token this is, if any (constant-time compare)."""
        digest = hash_api_key(token)
        return next((a for a, h in self.agent_tokens.items() if hmac.compare_digest(digest, h)), None)

    def domains_of(self, agent_id: str) -> tuple[str, ...]:
        """The routing domains of an agent's queues, sorted; more than one for a blended agent (decisions D21);
        () for an unknown agent."""
        profile = self.agents.get(agent_id)
        if profile is None:
            return ()
        return tuple(sorted({self.queues[q].domain for q in profile.queues if q in self.queues}))

    def domain_of(self, agent_id: str) -> str | None:
        """The first of the agent's routing domains (its only one unless blended), or None for an unknown agent."""
        return next(iter(self.domains_of(agent_id)), None)


@dataclass(frozen=True)
class _Document:
    """A file as read: its path and raw data, to name the entry at fault in errors."""

    path: Path
    data: Any

    def problem(self, loc: Sequence[int | str], message: str) -> str:
        """`path: entries[i].field (kind 'id'): message`."""
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc if p != "[key]").lstrip(".")
        if loc and loc[-1] == "[key]":
            message = f"key: {message}"
        return f"{self.path}: {where or '<root>'}{self._entry(loc)}: {message}"

    def _entry(self, loc: Sequence[int | str]) -> str:
        if len(loc) < 2 or loc[0] not in _ENTRIES or not isinstance(loc[1], int) or not isinstance(self.data, dict):
            return ""
        kind, key = _ENTRIES[str(loc[0])]
        entries = self.data.get(loc[0])
        entry = entries[loc[1]] if isinstance(entries, list) and 0 <= loc[1] < len(entries) else None
        ident = entry.get(key) if isinstance(entry, dict) else None
        return f" ({kind} {ident!r})" if isinstance(ident, str) else ""

    def error_line(self, error: ErrorDetails) -> str:
        """One pydantic error, located down to the item named in its context."""
        at = (error.get("ctx") or {}).get("at", ())
        return self.problem((*error["loc"], *at), error["msg"])


def _read(path: Path, model: type[M]) -> tuple[M, _Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc}") from None
    try:
        doc = _Document(path, read_rule_file(text, str(path)))
    except RuleSetError as exc:
        raise ConfigError(str(exc)) from None
    if doc.data is None:
        raise ConfigError(f"{path}: the file is empty")
    try:
        return model.model_validate(doc.data), doc
    except ValidationError as exc:
        raise ConfigError("\n".join(doc.error_line(e) for e in exc.errors())) from None


def _agent_problems(doc: _Document, agents: list[AgentConfig], queues: dict[str, QueueConfig]) -> list[str]:
    known = ", ".join(sorted(queues))
    problems: list[str] = []
    for i, agent in enumerate(agents):
        for j, name in enumerate(agent.queues):
            loc = ("agents", i, "queues", j)
            queue = queues.get(name)
            if queue is None:
                problems.append(doc.problem(loc, f"unknown queue {name!r}; known: {known}"))
                continue
            if queue.channel not in agent.capacity:
                message = f"queue {name!r} is on channel {queue.channel!r}, where the agent has no capacity"
                problems.append(doc.problem(loc, message))
    return problems


def load_routing_config(config_dir: Path) -> RoutingConfig:
    """Read queues.yaml, agents.yaml and codes.yaml from `config_dir` and cross-check them."""
    queues = {q.name: q for q in _read(config_dir / "queues.yaml", QueuesConfigFile)[0].queues}
    agents_file, agents_doc = _read(config_dir / "agents.yaml", AgentsConfigFile)
    codes = _read(config_dir / "codes.yaml", CodesConfigFile)[0]
    problems = _agent_problems(agents_doc, agents_file.agents, queues)
    if problems:
        raise ConfigError("\n".join(problems))
    return RoutingConfig(
        queues={name: q.to_policy() for name, q in queues.items()},
        agents={a.id: a.to_profile() for a in agents_file.agents},
        agent_tokens={a.id: a.token_sha256 for a in agents_file.agents if a.token_sha256},
        not_ready_reasons={r.id: r for r in codes.not_ready_reasons},
        wrap_up_codes={c.id: c for c in codes.wrap_up_codes},
        supervisors=frozenset(a.id for a in agents_file.agents if a.supervisor),
        agent_passwords={a.id: a.password_argon2 for a in agents_file.agents if a.password_argon2},
    )


def schemas() -> dict[str, str]:
    """Each file's JSON Schema text, by its file name in docs/."""
    draft = "https://json-schema.org/draft/2020-12/schema"
    return {
        name: json.dumps({"$schema": draft, **model.model_json_schema()}, indent=2, ensure_ascii=False) + "\n"
        for name, model in SCHEMAS.items()
    }


def summary(config: RoutingConfig) -> str:
    """One line: how many queues, domains, agents (supervisors among them) and codes."""
    plural = "" if len(config.supervisors) == 1 else "s"
    return (
        f"{len(config.queues)} queues in {len(config.domains())} domains, {len(config.agents)} agents "
        f"({len(config.supervisors)} supervisor{plural}), "
        f"{len(config.not_ready_reasons)} not-ready reasons, {len(config.wrap_up_codes)} wrap-up codes"
    )
