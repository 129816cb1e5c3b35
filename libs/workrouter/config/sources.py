"""Registered source systems: who may hand us work, with which key(s), and where we call back."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from workrouter.domain.notify.signing import signing_key

CallbackEvent = Literal["completed", "cancelled", "expired", "escalated", "rescheduled", "rejected", "error_held"]
DEFAULT_CALLBACK_EVENTS: tuple[CallbackEvent, ...] = ("completed", "cancelled", "expired")
MIN_SECRET_LENGTH = 16
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class SecretError(ValueError):
    """A callback secret cannot be read from where sources.yaml says it is."""


class SourceSystem(BaseModel):
    """One registered source system (CRM, BPM, ticketing, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$", description="Id used in commands and keys.")
    description: str = ""
    api_key_sha256: list[Sha256] = Field(
        min_length=1,
        max_length=2,
        description="SHA-256 (hex) of the REST API key, or a list of two while a key is rotated.",
    )
    callback_url: HttpUrl | None = Field(default=None, description="Where the notifier calls back.")
    callback_secret_env: str | None = Field(
        default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,127}$", description="Environment variable holding the HMAC key."
    )
    callback_secret_file: Path | None = Field(
        default=None, description="File holding the HMAC key (relative paths: to the configuration folder)."
    )
    callback_events: list[CallbackEvent] = Field(default_factory=lambda: list(DEFAULT_CALLBACK_EVENTS))

    @model_validator(mode="before")
    @classmethod
    def _no_clear_text_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and "callback_secret" in data:
            raise ValueError(
                f"source {data.get('name')!r}: a callback_secret in clear text is refused: put the secret in the "
                "environment and name the variable (callback_secret_env: WR_CALLBACK_SECRET_CRM), or in a file "
                "readable by the notifier only (callback_secret_file: /run/secrets/crm); see docs/notifier.md"
            )
        return data

    @field_validator("api_key_sha256", mode="before")
    @classmethod
    def _one_or_two(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _callbacks_are_signed(self) -> Self:
        if len(set(self.api_key_sha256)) != len(self.api_key_sha256):
            raise ValueError(f"source {self.name!r} lists the same api_key_sha256 twice")
        if self.callback_secret_env and self.callback_secret_file:
            raise ValueError(f"source {self.name!r}: give callback_secret_env or callback_secret_file, not both")
        if self.callback_url is not None and not (self.callback_secret_env or self.callback_secret_file):
            raise ValueError(
                f"source {self.name!r} has a callback_url but no callback secret: add callback_secret_env (an "
                f"environment variable) or callback_secret_file holding a secret of at least {MIN_SECRET_LENGTH} "
                "characters (the notifier signs every callback with it), or remove callback_url"
            )
        if self.callback_url is not None and not self.callback_events:
            raise ValueError(
                f"source {self.name!r} has a callback_url but an empty callback_events list: name the events to call "
                f"back for (any of {', '.join(get_args(CallbackEvent))}), or remove callback_url"
            )
        return self

    def accepts_key(self, api_key: str) -> bool:
        """True when `api_key` hashes to one of this source's registered hashes (constant-time compare)."""
        digest = hash_api_key(api_key)
        return any(hmac.compare_digest(digest, known) for known in self.api_key_sha256)

    def callback_secret(self, env: Mapping[str, str], config_dir: Path) -> str | None:
        """The HMAC key for callbacks, read from the environment or the secret file; None without callbacks."""
        if self.callback_secret_env:
            where = f"environment variable {self.callback_secret_env}"
            secret = env.get(self.callback_secret_env, "")
        elif self.callback_secret_file:
            path = (
                self.callback_secret_file
                if self.callback_secret_file.is_absolute()
                else config_dir / self.callback_secret_file
            )
            where = f"file {path}"
            try:
                secret = path.read_text().strip()
            except OSError as exc:
                raise SecretError(
                    f"source {self.name!r}: cannot read its callback secret from {where} ({exc.strerror})"
                ) from None
        else:
            return None
        if len(secret) < MIN_SECRET_LENGTH:
            state = "is not set" if not secret else f"holds fewer than {MIN_SECRET_LENGTH} characters"
            raise SecretError(
                f"source {self.name!r}: its callback secret ({where}) {state}: give it a random secret of at least "
                f"{MIN_SECRET_LENGTH} characters (`workrouter credentials new --callback` prints one)"
            )
        try:
            signing_key(secret)
        except ValueError as exc:
            raise SecretError(
                f"source {self.name!r}: its callback secret ({where}) is not usable: {exc} "
                "(`workrouter credentials new --callback` prints a good one)"
            ) from None
        return secret


class SourcesFile(BaseModel):
    """The sources.yaml document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[SourceSystem] = Field(min_length=1)


def hash_api_key(api_key: str) -> str:
    """The hex SHA-256 stored in sources.yaml for an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()
