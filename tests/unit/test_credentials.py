"""No shipped credential works outside the demo: the check at start, fresh credentials, key rotation."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import CONFIG_DIR
from workrouter.cli import main
from workrouter.config.catalog import load_catalog
from workrouter.config.credentials import issue_credentials, refuse_shipped, shipped_in_use
from workrouter.config.files import ConfigError
from workrouter.config.routing import load_routing_config
from workrouter.config.sources import SourceSystem, hash_api_key
from workrouter.domain.notify.signing import signing_key


def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    return folder


def test_the_shipped_configuration_is_refused_naming_every_entry() -> None:
    with pytest.raises(ConfigError) as caught:
        refuse_shipped(CONFIG_DIR, {})
    message = str(caught.value)
    assert "sources.yaml: crm.api_key_sha256 is the hash of 'crm-demo-key'" in message
    assert "agents.yaml: liam.token_sha256 is the hash of 'liam-demo-token'" in message
    assert "workrouter credentials new" in message
    assert "docs/security.md" in message


def test_a_shipped_callback_secret_is_refused_from_the_environment() -> None:
    found = shipped_in_use(CONFIG_DIR, {"WR_CALLBACK_SECRET_CRM": "crm-demo-callback-secret"})
    assert "sources.yaml: crm's callback secret is the shipped example 'crm-demo-callback-secret'" in found


def test_issued_credentials_replace_every_shipped_one_and_work(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    issued = issue_credentials(folder)
    assert shipped_in_use(folder, {}) == []
    refuse_shipped(folder, {})
    catalog = load_catalog(folder)
    assert catalog.source_for_key(issued.source_keys["crm"]) is catalog.sources["crm"]
    assert catalog.source_for_key("crm-demo-key") is None
    routing = load_routing_config(folder)
    assert routing.agent_for_token(issued.agent_tokens["sam"]) == "sam"
    assert routing.agent_for_token("sam-demo-token") is None
    secret_file = folder / "secrets" / "crm"
    assert catalog.sources["crm"].callback_secret({}, folder) == issued.callback_secrets["crm"]
    assert len(signing_key(issued.callback_secrets["crm"])) == 32  # a Standard Webhooks whsec_ secret
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    text = (folder / "sources.yaml").read_text()
    assert issued.callback_secrets["crm"] not in text
    assert issued.source_keys["crm"] not in text
    assert issue_credentials(copy(tmp_path / "again")).source_keys["crm"] != issued.source_keys["crm"]


def test_a_source_accepts_two_keys_while_one_is_rotated() -> None:
    old, new = hash_api_key("old-key"), hash_api_key("new-key")
    rotating = SourceSystem(name="crm", api_key_sha256=[old, new])
    assert rotating.accepts_key("old-key")
    assert rotating.accepts_key("new-key")
    assert not rotating.accepts_key("other")
    rotated = SourceSystem(name="crm", api_key_sha256=new)  # the old one removed: one string is still fine
    assert not rotated.accepts_key("old-key")
    assert rotated.accepts_key("new-key")
    with pytest.raises(ValueError, match="at most 2 items"):
        SourceSystem(name="crm", api_key_sha256=[old, new, hash_api_key("third")])
    with pytest.raises(ValueError, match="the same api_key_sha256 twice"):
        SourceSystem(name="crm", api_key_sha256=[old, old])


def test_rotation_in_sources_yaml(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    doc = yaml.safe_load((folder / "sources.yaml").read_text())
    doc["sources"][2]["api_key_sha256"] = [hash_api_key("ticketing-old"), hash_api_key("ticketing-new")]
    (folder / "sources.yaml").write_text(yaml.safe_dump(doc))
    catalog = load_catalog(folder)
    assert (
        catalog.source_for_key("ticketing-old")
        is catalog.source_for_key("ticketing-new")
        is catalog.sources["ticketing"]
    )


def test_workrouter_service_refuses_the_shipped_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WR_CONFIG_DIR", str(CONFIG_DIR))
    with pytest.raises(SystemExit) as stopped:
        main(["service", "capture"])
    assert stopped.value.code == 2
    assert "workrouter service capture: " in capsys.readouterr().err


def test_credentials_new_prints_fresh_keys_and_their_hashes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["credentials", "new", "crm", "alice"])
    assert stopped.value.code == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert [row[0] for row in rows] == ["crm", "alice"]
    for _, key, digest in rows:
        assert digest == f"sha256={hash_api_key(key)}"
        assert len(key) >= 32


def test_credentials_new_callback_prints_whsec_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["credentials", "new", "--callback", "crm", "bpm"])
    assert stopped.value.code == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert [row[0] for row in rows] == ["crm", "bpm"]
    assert rows[0][1] != rows[1][1]
    assert all(len(signing_key(secret)) == 32 for _, secret in rows)


def test_credentials_init_copies_with_fresh_credentials_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "config"
    with pytest.raises(SystemExit):
        main(["credentials", "init", str(target), "--from", str(CONFIG_DIR)])
    printed = capsys.readouterr().out
    refuse_shipped(target, {})
    catalog = load_catalog(target)
    key = printed.split("source crm        X-API-Key: ")[1].split()[0]
    assert catalog.source_for_key(key) is catalog.sources["crm"]
    with pytest.raises(SystemExit):
        main(["credentials", "init", str(target)])
    assert "credentials stay as they are" in capsys.readouterr().out
    assert load_catalog(target).source_for_key(key) is not None
