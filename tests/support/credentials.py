"""Fresh credentials for tests that start real processes: they never use the shipped example keys
(`workrouter up` and `workrouter service` refuse them), but issue their own as the demo does."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.support.infra import ROOT
from workrouter.config.credentials import SECRETS_DIR, IssuedCredentials, issue_credentials, new_secret

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


def seed_with_secret_files(folder: Path, seed: Path = SEED) -> Path:
    """Copy `seed` to `folder` with each callback secret in a fresh file: for in-process tests that keep
    the seed's example keys and tokens (only `workrouter up` and `workrouter service` refuse those)."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(seed, folder)
    doc = yaml.safe_load((folder / "sources.yaml").read_text())
    for source in doc["sources"]:
        if "callback_url" in source:
            source.pop("callback_secret_env", None)
            (folder / SECRETS_DIR).mkdir(exist_ok=True)
            (folder / SECRETS_DIR / source["name"]).write_text(new_secret())
            source["callback_secret_file"] = f"{SECRETS_DIR}/{source['name']}"
    (folder / "sources.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder
