"""`workrouter credentials new|init`, and the check every start makes: no shipped example credential."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from workrouter.config.credentials import issue_credentials, new_secret, refuse_shipped
from workrouter.config.files import ConfigError
from workrouter.config.sources import hash_api_key
from workrouter.domain.notify.signing import new_callback_secret


def refuse_shipped_or_exit(config_dir: Path, command: str) -> int:
    """0 when `config_dir` holds no shipped example credential; otherwise print why and return 2."""
    try:
        refuse_shipped(config_dir, os.environ)
    except ConfigError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    return 0


def _new(args: argparse.Namespace) -> int:
    names: list[str] = args.names or ["credential"]
    if args.callback:
        print("# Callback secrets (Standard Webhooks whsec_ form): put each into the variable or file sources.yaml")
        print("# names (callback_secret_env or callback_secret_file); give the same secret to the source's verifier.")
        for name in names:
            print(f"{name}\t{new_callback_secret()}")
        return 0
    print("# Hand each key or token to its owner once; put only the sha256 in sources.yaml / agents.yaml")
    print("# (api_key_sha256 / token_sha256). For a callback secret: `workrouter credentials new --callback NAME`.")
    for name in names:
        secret = new_secret()
        print(f"{name}\t{secret}\tsha256={hash_api_key(secret)}")
    return 0


def _init(args: argparse.Namespace) -> int:
    target: Path = args.target
    if target.exists():
        print(f"{target} exists: its credentials stay as they are (remove it to issue new ones)")
        return 0
    shutil.copytree(args.source, target)
    issued = issue_credentials(target)
    print(f"{target}: a copy of {args.source} with fresh credentials; shown once, only their hashes are kept:")
    for line in issued.lines():
        print(f"  {line}")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `credentials new` to the workrouter command."""
    creds = commands.add_parser("credentials", help="issue fresh API keys, agent tokens and secrets")
    actions = creds.add_subparsers(dest="action", required=True)
    new = actions.add_parser("new", help="print a fresh random key per name, with its sha256 for the YAML files")
    new.add_argument("names", nargs="*", help="what each is for (a source or an agent id); one unnamed if none")
    new.add_argument(
        "--callback", action="store_true", help="print callback signing secrets (whsec_..., Standard Webhooks) instead"
    )
    new.set_defaults(run=_new)
    init = actions.add_parser("init", help="copy a configuration folder, with fresh keys, tokens and secret files")
    init.add_argument("target", type=Path, help="the new configuration folder (left alone if it exists)")
    init.add_argument("--from", dest="source", type=Path, default=Path("deploy/config"), help="the folder to copy")
    init.set_defaults(run=_init)
