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
from workrouter.config.catalog import ConfigError
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


def test_the_seed_sources_call_back_crm_and_bpm_but_not_ticketing() -> None:
    targets = load_targets(CONFIG_DIR)
    assert sorted(targets) == ["bpm", "crm"]
    assert targets["crm"].url == "http://127.0.0.1:18081/workrouter/callbacks"
    assert targets["crm"].events == {"completed", "cancelled", "expired", "escalated"}
    assert targets["bpm"].events == {"completed", "cancelled", "expired"}  # the default


def test_a_callback_url_without_a_secret_is_refused_with_the_fix(tmp_path: Path) -> None:
    folder = config_with(tmp_path, {"callback_url": "https://crm.example/hooks"})
    with pytest.raises(ConfigError) as caught:
        load_targets(folder)
    message = str(caught.value)
    assert "sources.yaml" in message
    assert "sources.0" in message
    assert "source 'crm' has a callback_url but no callback_secret: add a callback_secret of at least 16" in message


def test_an_empty_event_list_and_a_short_secret_are_refused(tmp_path: Path) -> None:
    empty = config_with(
        tmp_path / "a", {"callback_url": "https://x.example/", "callback_secret": "s" * 16, "callback_events": []}
    )
    with pytest.raises(ConfigError, match="empty callback_events list: name the events"):
        load_targets(empty)
    short = config_with(tmp_path / "b", {"callback_url": "https://x.example/", "callback_secret": "short"})
    with pytest.raises(ConfigError, match="callback_secret: String should have at least 16 characters"):
        load_targets(short)
    unknown = config_with(
        tmp_path / "c", {"callback_url": "https://x.example/", "callback_secret": "s" * 16, "callback_events": ["done"]}
    )
    with pytest.raises(ConfigError, match=r"callback_events\.0"):
        load_targets(unknown)


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
