"""Process settings: defaults, WR_ variables, and clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.settings import ProcessSettings


def test_default_is_the_in_process_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WR_BROKER_URL", raising=False)
    assert isinstance(build_bus(ProcessSettings(), client_id="t"), MemoryBus)


def test_kafka_url_from_the_environment_builds_a_kafka_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WR_BROKER_URL", "kafka://127.0.0.1:19092")
    monkeypatch.setenv("WR_MAX_ATTEMPTS", "7")
    settings = ProcessSettings()
    assert settings.max_attempts == 7
    assert isinstance(build_bus(settings, client_id="t"), KafkaBus)


@pytest.mark.parametrize(
    ("url", "message"),
    [("amqp://x", "must start with memory:// or kafka://"), ("kafka://", "needs at least one host:port")],
)
def test_bad_broker_url_says_what_is_expected(monkeypatch: pytest.MonkeyPatch, url: str, message: str) -> None:
    monkeypatch.setenv("WR_BROKER_URL", url)
    with pytest.raises(ValidationError, match=message):
        ProcessSettings()
