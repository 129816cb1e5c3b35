"""Fresh credentials for tests that start real processes: they never use the shipped example keys
(`workrouter up` and `workrouter service` refuse them), but issue their own as the demo does."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.infra import ROOT
from workrouter.config.credentials import IssuedCredentials, issue_credentials

SEED = ROOT / "deploy" / "config"
SUPERVISOR = "sam"  # the seed's supervisor: reports and the supervisor API take its token


def credentialed_config(folder: Path, seed: Path = SEED) -> IssuedCredentials:
    """Copy `seed` to `folder` and give it fresh keys, tokens and callback secret files."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(seed, folder)
    return issue_credentials(folder)


def source_headers(issued: IssuedCredentials, source: str) -> dict[str, str]:
    """The headers of a source system's capture call."""
    return {"X-API-Key": issued.source_keys[source]}


def bearer(issued: IssuedCredentials, agent: str) -> dict[str, str]:
    """The Authorization header of an agent (or of the supervisor, for the reports)."""
    return {"Authorization": f"Bearer {issued.agent_tokens[agent]}"}
