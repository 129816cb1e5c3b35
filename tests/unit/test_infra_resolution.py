"""How the tests find real infrastructure: settings first, then local scripts, then a clear failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import infra


@pytest.fixture(autouse=True)
def _no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infra, "_docker_answers", lambda: False)


def test_settings_win_and_nothing_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WR_KAFKA_BOOTSTRAP", "k:1")
    monkeypatch.setenv("WR_REDIS_URL", "redis://r:2/0")
    monkeypatch.setenv("WR_DATABASE_URL", "postgresql://p:3/db")
    monkeypatch.setattr(infra, "INFRA_SCRIPT", Path("/nonexistent/must-not-run.sh"))
    assert infra.resolve() == infra.Infra("k:1", "redis://r:2/0", "postgresql://p:3/db", "environment")


def test_without_settings_scripts_or_docker_the_error_says_how_to_start_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WR_KAFKA_BOOTSTRAP", "WR_REDIS_URL", "WR_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(infra, "INFRA_SCRIPT", Path("/nonexistent/infra.sh"))
    with pytest.raises(infra.InfraUnavailableError, match=r"make infra-up.*WR_KAFKA_BOOTSTRAP"):
        infra.resolve()


def test_a_failing_script_is_reported_with_its_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("WR_KAFKA_BOOTSTRAP", "WR_REDIS_URL", "WR_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    script = tmp_path / "infra.sh"
    script.write_text("echo 'kafka: ERROR: java not found'; exit 1\n")
    monkeypatch.setattr(infra, "INFRA_SCRIPT", script)
    monkeypatch.setenv("WR_LOCAL_DIR", str(tmp_path))
    with pytest.raises(infra.InfraUnavailableError, match=r"(?s)failed \(exit 1\).*java not found.*make infra-up"):
        infra.resolve()


def test_local_scripts_fill_in_what_settings_leave_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WR_KAFKA_BOOTSTRAP", "elsewhere:9092")
    monkeypatch.delenv("WR_REDIS_URL", raising=False)
    monkeypatch.delenv("WR_DATABASE_URL", raising=False)
    script = tmp_path / "infra.sh"
    lines = [
        "WR_KAFKA_BOOTSTRAP=127.0.0.1:19092",
        "WR_REDIS_URL=redis://127.0.0.1:16379/0",
        "WR_DATABASE_URL=postgresql://u@127.0.0.1:15432/w",
    ]
    script.write_text("".join(f"echo '{line}' >> \"$WR_LOCAL_DIR/infra.env\"\n" for line in lines))
    monkeypatch.setattr(infra, "INFRA_SCRIPT", script)
    monkeypatch.setenv("WR_LOCAL_DIR", str(tmp_path))
    found = infra.resolve()
    assert found == infra.Infra(
        "elsewhere:9092", "redis://127.0.0.1:16379/0", "postgresql://u@127.0.0.1:15432/w", "deploy/local"
    )
