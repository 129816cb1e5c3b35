"""Where callbacks go and how they are tuned: sources.yaml, WR_* settings and the CLI, with clear errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tests.unit.conftest import CONFIG_DIR
from workrouter.cli import parser
from workrouter.config.files import ConfigError
from workrouter.services.notifier.service import NotifierSettings, load_targets

CRM_HASH = "37dd84c79d3b78ef8208ef115d033d078dc2428d56cf4ee9aff860d37e54a90b"


def config_with(tmp_path: Path, source: dict[str, object]) -> Path:
    """The seed configuration with sources.yaml replaced by one source."""
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    (folder / "sources.yaml").write_text(
        yaml.safe_dump({"sources": [{"name": "crm", "api_key_sha256": CRM_HASH} | source]})
    )
    return folder


SECRETS = {"WR_CALLBACK_SECRET_CRM": "c" * 32}


def test_the_seed_sources_call_back_crm_and_bpm_but_not_ticketing(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    secret_file = tmp_path / "bpm-secret"
    secret_file.write_text("b" * 32 + "\n")
    doc = yaml.safe_load((folder / "sources.yaml").read_text())
    doc["sources"][1]["callback_secret_file"] = str(secret_file)  # the seed names /run/secrets/...
    (folder / "sources.yaml").write_text(yaml.safe_dump(doc))
    targets = load_targets(folder, SECRETS)
    assert sorted(targets) == ["bpm", "crm"]
    assert targets["crm"].url == "http://127.0.0.1:18081/workrouter/callbacks"
    assert targets["crm"].secret == "c" * 32  # from the variable sources.yaml names
    assert targets["bpm"].secret == "b" * 32  # from the file, without its newline
    assert targets["crm"].events == {"completed", "cancelled", "expired", "escalated"}
    assert targets["bpm"].events == {"completed", "cancelled", "expired"}  # the default


def test_a_callback_url_without_a_secret_is_refused_with_the_fix(tmp_path: Path) -> None:
    folder = config_with(tmp_path, {"callback_url": "https://crm.example/hooks"})
    with pytest.raises(ConfigError) as caught:
        load_targets(folder, {})
    message = str(caught.value)
    assert "sources.yaml" in message
    assert "sources.0" in message
    assert "source 'crm' has a callback_url but no callback secret: add callback_secret_env" in message


def test_a_secret_in_clear_text_is_refused_with_how_to_move_it(tmp_path: Path) -> None:
    folder = config_with(tmp_path, {"callback_url": "https://x.example/", "callback_secret": "s" * 16})
    with pytest.raises(ConfigError, match=r"a callback_secret in clear text is refused: .*callback_secret_env: "):
        load_targets(folder, {})


def test_a_missing_or_short_secret_is_refused_when_the_notifier_starts(tmp_path: Path) -> None:
    env = config_with(tmp_path / "a", {"callback_url": "https://x.example/", "callback_secret_env": "WR_S"})
    with pytest.raises(ConfigError, match=r"environment variable WR_S\) is not set"):
        load_targets(env, {})
    with pytest.raises(ConfigError, match="holds fewer than 16 characters"):
        load_targets(env, {"WR_S": "short"})
    missing = config_with(tmp_path / "b", {"callback_url": "https://x.example/", "callback_secret_file": "nope"})
    with pytest.raises(ConfigError, match=r"cannot read its callback secret from file .*nope"):
        load_targets(missing, {})
    both: dict[str, object] = {"callback_url": "https://x.example/", "callback_secret_env": "WR_S"}
    both["callback_secret_file"] = "x"
    with pytest.raises(ConfigError, match="not both"):
        load_targets(config_with(tmp_path / "c", both), {})


def test_a_whsec_secret_that_is_not_base64_of_24_to_64_bytes_is_refused_with_the_fix(tmp_path: Path) -> None:
    env = config_with(tmp_path, {"callback_url": "https://x.example/", "callback_secret_env": "WR_S"})
    with pytest.raises(
        ConfigError, match=r"WR_S\) is not usable: a whsec_ secret must be base64.*credentials new --callback"
    ):
        load_targets(env, {"WR_S": "whsec_" + "not base64 at all!"})
    with pytest.raises(ConfigError, match="must decode to 24 to 64 bytes, not 18"):
        load_targets(env, {"WR_S": "whsec_" + "A" * 24})
    good = "whsec_" + "A" * 44  # 33 bytes
    assert load_targets(env, {"WR_S": good})["crm"].secret == good


def test_an_empty_or_unknown_event_list_is_refused(tmp_path: Path) -> None:
    signed: dict[str, object] = {"callback_url": "https://x.example/", "callback_secret_env": "WR_S"}
    empty = config_with(tmp_path / "a", signed | {"callback_events": []})
    with pytest.raises(ConfigError, match="empty callback_events list: name the events"):
        load_targets(empty, {"WR_S": "s" * 16})
    unknown = config_with(tmp_path / "c", signed | {"callback_events": ["done"]})
    with pytest.raises(ConfigError, match=r"callback_events\.0"):
        load_targets(unknown, {"WR_S": "s" * 16})


def test_settings_refuse_a_base_above_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WR_CALLBACK_BACKOFF_BASE_SECONDS", "30")
    monkeypatch.setenv("WR_CALLBACK_BACKOFF_CAP_SECONDS", "10")
    with pytest.raises(ValidationError, match=re.escape("WR_CALLBACK_BACKOFF_BASE_SECONDS (30.0) must not exceed")):
        NotifierSettings()


def test_settings_defaults_and_the_lease_outlasting_an_attempt() -> None:
    settings = NotifierSettings(callback_timeout_seconds=4)
    assert settings.notifier_group == "wr-notifier"
    assert settings.lease_seconds > settings.callback_timeout_seconds
    policy = settings.policy()
    assert (policy.max_attempts, policy.base_seconds, policy.cap_seconds) == (20, 1.0, 600.0)


def test_the_cli_parses_callbacks_commands() -> None:
    args = parser().parse_args(["callbacks", "dead", "--source", "crm"])
    assert (args.action, args.source, args.limit, args.json) == ("dead", "crm", 1000, False)
    args = parser().parse_args(["callbacks", "replay", "a", "b"])
    assert (args.ids, args.source, args.all) == (["a", "b"], None, False)
    assert parser().parse_args(["service", "notifier"]).name == "notifier"


@pytest.mark.parametrize("argv", [["callbacks", "replay"], ["callbacks", "replay", "x", "--all"]])
def test_replay_needs_exactly_one_choice(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(argv)
    assert args.run(args) == 2
    assert "give callback ids, or --source SOURCE, or --all (one of them)" in capsys.readouterr().err
