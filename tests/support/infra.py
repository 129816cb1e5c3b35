"""Find the real Kafka, Redis and PostgreSQL the integration tests run against.

Order: WR_KAFKA_BOOTSTRAP / WR_REDIS_URL / WR_DATABASE_URL when set; else the project's
deploy/local/infra.sh (started idempotently); else testcontainers when a Docker engine
answers; else fail with a message saying how to start them. Never a silent skip.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
INFRA_SCRIPT = ROOT / "deploy" / "local" / "infra.sh"
HOW_TO_START = (
    "start them with `make infra-up` (deploy/local/infra.sh up), or point the tests at running "
    "servers with WR_KAFKA_BOOTSTRAP=host:port, WR_REDIS_URL=redis://..., WR_DATABASE_URL=postgresql://..."
)


class TestInfraSettings(BaseSettings):
    """The test process's settings: where the real servers are, if already known."""

    __test__ = False
    model_config = SettingsConfigDict(env_prefix="WR_", extra="ignore")

    kafka_bootstrap: str | None = None
    redis_url: str | None = None
    database_url: str | None = None
    local_dir: Path = ROOT / ".local"


@dataclass(frozen=True)
class Infra:
    """Addresses of the three servers."""

    kafka_bootstrap: str
    redis_url: str
    database_url: str
    origin: str


class InfraUnavailableError(RuntimeError):
    """No way to reach real infrastructure was found."""


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip().removeprefix("export ")
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip("'\"")
    return values


def _from_local_scripts(settings: TestInfraSettings) -> Infra | None:
    if not INFRA_SCRIPT.exists():
        return None
    result = subprocess.run(["bash", str(INFRA_SCRIPT), "up"], capture_output=True, text=True, check=False)
    env_file = settings.local_dir / "infra.env"
    if result.returncode != 0 or not env_file.exists():
        raise InfraUnavailableError(
            f"deploy/local/infra.sh up failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}\nFix what it names, or {HOW_TO_START}"
        )
    values = _read_env_file(env_file)
    return Infra(values["WR_KAFKA_BOOTSTRAP"], values["WR_REDIS_URL"], values["WR_DATABASE_URL"], "deploy/local")


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return subprocess.run([docker, "info"], capture_output=True, check=False, timeout=20).returncode == 0


def _from_testcontainers() -> Infra:  # pragma: no cover - needs a Docker engine, absent on CI machines
    # Imported here: only machines with a Docker engine take this path.
    from testcontainers.kafka import KafkaContainer  # noqa: PLC0415
    from testcontainers.postgres import PostgresContainer  # noqa: PLC0415
    from testcontainers.redis import RedisContainer  # noqa: PLC0415

    kafka = KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft().start()
    redis = RedisContainer("redis:7").start()
    postgres = PostgresContainer("postgres:16", driver=None).start()
    redis_url = f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
    return Infra(kafka.get_bootstrap_server(), redis_url, postgres.get_connection_url(), "testcontainers")


def resolve() -> Infra:
    """Locate (or start) real infrastructure, or raise InfraUnavailableError saying what to do."""
    settings = TestInfraSettings()
    if settings.kafka_bootstrap and settings.redis_url and settings.database_url:
        return Infra(settings.kafka_bootstrap, settings.redis_url, settings.database_url, "environment")
    try:
        local = _from_local_scripts(settings)
    except InfraUnavailableError:
        if _docker_answers():
            return _from_testcontainers()
        raise
    if local is not None:
        return Infra(
            settings.kafka_bootstrap or local.kafka_bootstrap,
            settings.redis_url or local.redis_url,
            settings.database_url or local.database_url,
            local.origin,
        )
    if _docker_answers():
        return _from_testcontainers()
    raise InfraUnavailableError(f"no Kafka/Redis/PostgreSQL for the integration tests: {HOW_TO_START}")
