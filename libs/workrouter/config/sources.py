"""Registered source systems: who may hand us work, with which key, and where we call back."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

CallbackEvent = Literal["completed", "cancelled", "expired", "escalated", "rescheduled", "rejected", "error_held"]
DEFAULT_CALLBACK_EVENTS: tuple[CallbackEvent, ...] = ("completed", "cancelled", "expired")


class SourceSystem(BaseModel):
    """One registered source system (CRM, BPM, ticketing, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$", description="Id used in commands and keys.")
    description: str = ""
    api_key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the REST API key.")
    callback_url: HttpUrl | None = Field(default=None, description="Where the notifier calls back.")
    callback_secret: str | None = Field(default=None, min_length=16, description="HMAC-SHA256 key for callbacks.")
    callback_events: list[CallbackEvent] = Field(default_factory=lambda: list(DEFAULT_CALLBACK_EVENTS))

    @model_validator(mode="after")
    def _callbacks_are_signed(self) -> Self:
        if self.callback_url is not None and not self.callback_secret:
            raise ValueError(
                f"source {self.name!r} has a callback_url but no callback_secret: add a callback_secret of at least "
                "16 characters (the notifier signs every callback with it), or remove callback_url"
            )
        if self.callback_url is not None and not self.callback_events:
            raise ValueError(
                f"source {self.name!r} has a callback_url but an empty callback_events list: name the events to call "
                f"back for (any of {', '.join(get_args(CallbackEvent))}), or remove callback_url"
            )
        return self

    def accepts_key(self, api_key: str) -> bool:
        """True when `api_key` hashes to this source's registered hash (constant-time compare)."""
        return hmac.compare_digest(hash_api_key(api_key), self.api_key_sha256)


class SourcesFile(BaseModel):
    """The sources.yaml document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[SourceSystem] = Field(min_length=1)


def hash_api_key(api_key: str) -> str:
    """The hex SHA-256 stored in sources.yaml for an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()
