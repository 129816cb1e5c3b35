"""Settings every workrouter process reads from `WR_*` environment variables."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workrouter.config.bearer import is_loopback


class ProcessSettings(BaseSettings):
    """Base of each process's one settings class (env prefix `WR_`); build it once at start."""

    model_config = SettingsConfigDict(env_prefix="WR_", extra="ignore", frozen=True)

    broker_url: str = Field(
        default="memory://",
        description="memory:// for the in-process bus, or kafka://host:port[,host:port] for Apache Kafka.",
    )
    redis_url: str | None = Field(default=None, description="redis://host:port/db of the live state store.")
    database_url: str | None = Field(default=None, description="postgresql://... of the event log.")
    topic_prefix: str = Field(
        default="", pattern=r"^[A-Za-z0-9._-]{0,64}$", description="Prefix for every topic name, e.g. 'staging.'."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_attempts: int = Field(default=5, ge=1, le=100, description="Handler attempts before a dead letter.")
    retry_backoff_seconds: float = Field(default=0.05, gt=0, le=60)
    metrics_host: str = Field(
        default="127.0.0.1", description="Address of the /metrics endpoint (0.0.0.0 to be scraped from elsewhere)."
    )
    metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Port of GET /metrics and /healthz; 0 = off (docs/metrics.md)."
    )
    metrics_token_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the bearer token /metrics then requires (`workrouter hash-key <token>`).",
    )

    @model_validator(mode="after")
    def _metrics_not_open_to_the_network(self) -> Self:
        if self.metrics_port and not is_loopback(self.metrics_host) and self.metrics_token_sha256 is None:
            raise ValueError(
                f"WR_METRICS_HOST={self.metrics_host} would open /metrics to the network without a credential: set "
                "WR_METRICS_TOKEN_SHA256 (`workrouter hash-key <token>`; Prometheus sends it as a bearer token, "
                "docs/metrics.md), or keep WR_METRICS_HOST=127.0.0.1"
            )
        return self

    @field_validator("broker_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("memory://", "kafka://")):
            raise ValueError(f"WR_BROKER_URL must start with memory:// or kafka://, got {value!r}")
        if value.startswith("kafka://") and not value.removeprefix("kafka://").strip(","):
            raise ValueError("WR_BROKER_URL=kafka:// needs at least one host:port, e.g. kafka://127.0.0.1:19092")
        return value
