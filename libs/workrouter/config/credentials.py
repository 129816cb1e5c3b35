"""Credentials in a configuration folder: refusing the shipped examples, and issuing fresh ones.

The repository's sources.yaml and agents.yaml hold the hashes of example keys and tokens that anyone
can read (`crm-demo-key`, `alice-demo-token`, ...). They exist so that unit tests and the docs have
something to show; a running workrouter outside the demo refuses them (docs/security.md). The demo,
and the tests that start real processes, issue fresh random credentials into their own copy.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workrouter.config.files import ConfigError, read_yaml
from workrouter.config.routing_agents import AgentsConfigFile
from workrouter.config.sources import SecretError, SourcesFile, hash_api_key
from workrouter.domain.notify.signing import new_callback_secret

SHIPPED_SOURCES = ("crm", "bpm", "ticketing")
SHIPPED_AGENTS = (
    *("alice", "bruno", "chloe", "david", "emma", "farid", "grace", "sam"),
    *("hugo", "ines", "jonas", "kim", "liam"),
)
SHIPPED_KEYS = {hash_api_key(f"{s}-demo-key"): f"{s}-demo-key" for s in SHIPPED_SOURCES}
SHIPPED_TOKENS = {hash_api_key(f"{a}-demo-token"): f"{a}-demo-token" for a in SHIPPED_AGENTS}
SHIPPED_SECRETS = frozenset(f"{s}-demo-callback-secret" for s in SHIPPED_SOURCES)
SHIPPED_HASHES = {**SHIPPED_KEYS, **SHIPPED_TOKENS}
SECRETS_DIR = "secrets"


def new_secret() -> str:
    """A fresh random key, token or secret (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def shipped_in_use(config_dir: Path, env: Mapping[str, str]) -> list[str]:
    """Every credential of `config_dir` that is a shipped example, one line each (empty: none)."""
    found: list[str] = []
    sources_path = config_dir / "sources.yaml"  # a service that needs no sources may run without one
    sources = read_yaml(sources_path, SourcesFile).sources if sources_path.exists() else []
    for source in sources:
        for digest in source.api_key_sha256:
            if digest in SHIPPED_HASHES:
                found.append(f"sources.yaml: {source.name}.api_key_sha256 is the hash of {SHIPPED_HASHES[digest]!r}")
        try:
            secret = source.callback_secret(env, config_dir)
        except SecretError:
            secret = None  # a missing secret is the notifier's error to report, with its own message
        if secret in SHIPPED_SECRETS:
            found.append(f"sources.yaml: {source.name}'s callback secret is the shipped example {secret!r}")
    agents_path = config_dir / "agents.yaml"
    if agents_path.exists():
        for agent in read_yaml(agents_path, AgentsConfigFile).agents:
            if agent.token_sha256 in SHIPPED_HASHES:
                found.append(
                    f"agents.yaml: {agent.id}.token_sha256 is the hash of {SHIPPED_HASHES[agent.token_sha256]!r}"
                )
    return found


def refuse_shipped(config_dir: Path, env: Mapping[str, str]) -> None:
    """Raise ConfigError naming every shipped example credential in `config_dir` (anyone can read them)."""
    found = shipped_in_use(config_dir, env)
    if found:
        lines = "\n  ".join(found)
        raise ConfigError(
            f"{config_dir}: refusing to start with credentials published in the workrouter repository:\n  {lines}\n"
            "Anyone could use them. Run `workrouter credentials new <name> ...` to print fresh keys or tokens and "
            "their hashes, put the hashes in the files and hand the keys to their owners (docs/security.md). "
            "To try workrouter, run `workrouter demo`: it makes its own."
        )


@dataclass(frozen=True)
class IssuedCredentials:
    """Fresh credentials written into a configuration folder: the clear values, to hand out once."""

    source_keys: dict[str, str]
    agent_tokens: dict[str, str]
    callback_secrets: dict[str, str]

    def lines(self) -> list[str]:
        """One line per credential, for printing once."""
        return [
            *(f"source {name:<10} X-API-Key: {key}" for name, key in self.source_keys.items()),
            *(f"agent  {name:<10} Authorization: Bearer {token}" for name, token in self.agent_tokens.items()),
        ]


def issue_credentials(config_dir: Path) -> IssuedCredentials:
    """Replace every key, token and callback secret of the (copied) `config_dir` with fresh random ones.

    Callback secrets go to files under `config_dir`/secrets (mode 0600), named by callback_secret_file."""
    sources_path, agents_path = config_dir / "sources.yaml", config_dir / "agents.yaml"
    sources_doc: dict[str, Any] = yaml.safe_load(sources_path.read_text())
    keys: dict[str, str] = {}
    callback: dict[str, str] = {}
    folder = config_dir / SECRETS_DIR
    for source in sources_doc["sources"]:
        keys[source["name"]] = key = new_secret()
        source["api_key_sha256"] = hash_api_key(key)
        if "callback_url" in source:
            callback[source["name"]] = secret = new_callback_secret()
            folder.mkdir(mode=0o700, exist_ok=True)
            path = folder / source["name"]
            path.write_text(secret + "\n")
            os.chmod(path, 0o600)
            for field in ("callback_secret", "callback_secret_env"):
                source.pop(field, None)
            source["callback_secret_file"] = f"{SECRETS_DIR}/{source['name']}"
    sources_path.write_text(yaml.safe_dump(sources_doc, sort_keys=False, allow_unicode=True))
    tokens: dict[str, str] = {}
    if agents_path.exists():
        agents_doc: dict[str, Any] = yaml.safe_load(agents_path.read_text())
        for agent in agents_doc["agents"]:
            tokens[agent["id"]] = token = new_secret()
            agent["token_sha256"] = hash_api_key(token)
        agents_path.write_text(yaml.safe_dump(agents_doc, sort_keys=False, allow_unicode=True))
    return IssuedCredentials(keys, tokens, callback)
