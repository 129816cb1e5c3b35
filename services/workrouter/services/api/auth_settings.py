"""The api's sign-in and rate-limit settings (WR_OIDC_*, WR_AUTH_*, WR_RATE_*) and what they build."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import redis.asyncio as redis
from pydantic import Field, SecretStr, model_validator

from workrouter.adapters.rate_limiters import MemoryRateLimiter, RedisRateLimiter
from workrouter.config.routing import RoutingConfig
from workrouter.domain.rate_limit import RateRule
from workrouter.ports.rate_limiter import RateLimiter
from workrouter.services.api.oidc import JwksCache, OidcConfig, OidcVerifier
from workrouter.services.api.passwords import MIN_SECRET_BYTES, PasswordSignIn
from workrouter.services.api.rate_limits import RateLimits, RateRules
from workrouter.services.api.sign_in import SignIn
from workrouter.settings import ProcessSettings

Clock = Callable[[], float]


class AuthSettings(ProcessSettings):
    """How agents sign in and how fast callers may call (docs/api-agents.md#authentication)."""

    oidc_issuer: str | None = Field(default=None, description="Issuer (iss) of agents' OIDC tokens; unset = no OIDC.")
    oidc_audience: str | None = Field(default=None, description="The aud a token must name; required with an issuer.")
    oidc_jwks_url: str | None = Field(default=None, description="JWKS URL; unset = discovered from the issuer.")
    oidc_agent_claim: str = Field(default="preferred_username", description="The claim holding the agent id.")
    oidc_roles_claim: str = Field(
        default="roles", description="Dotted path of the roles list, e.g. realm_access.roles."
    )
    oidc_agent_role: str = Field(default="agent", min_length=1)
    oidc_supervisor_role: str = Field(default="supervisor", min_length=1)
    oidc_leeway_seconds: float = Field(default=30.0, ge=0, le=300, description="Clock skew allowed on exp and nbf.")
    auth_secret: SecretStr | None = Field(
        default=None, description="HMAC key of the api's own access tokens; unset = no POST /v1/auth/token."
    )
    auth_token_seconds: int = Field(default=900, ge=60, le=86_400, description="Lifetime of an issued access token.")
    rate_source_per_second: float = Field(default=500.0, ge=0, description="Per source API key; 0 = no limit.")
    rate_source_burst: int = Field(default=1000, ge=1)
    rate_agent_per_second: float = Field(default=20.0, ge=0, description="Per agent or supervisor; 0 = no limit.")
    rate_agent_burst: int = Field(default=40, ge=1)
    rate_sign_in_per_minute: float = Field(default=6.0, ge=0, description="Sign-in attempts per name; 0 = no limit.")
    rate_sign_in_burst: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _complete(self) -> AuthSettings:
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("WR_OIDC_ISSUER needs WR_OIDC_AUDIENCE: tokens are accepted only for this audience")
        if self.auth_secret is not None and len(self.auth_secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"WR_AUTH_SECRET must be at least {MIN_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)")
        return self

    def oidc_config(self) -> OidcConfig | None:
        """The OIDC issuer's settings, if one is configured."""
        if not self.oidc_issuer or not self.oidc_audience:
            return None
        return OidcConfig(
            issuer=self.oidc_issuer,
            audience=self.oidc_audience,
            jwks_url=self.oidc_jwks_url,
            agent_claim=self.oidc_agent_claim,
            roles_claim=self.oidc_roles_claim,
            agent_role=self.oidc_agent_role,
            supervisor_role=self.oidc_supervisor_role,
            leeway_seconds=self.oidc_leeway_seconds,
        )

    def rate_rules(self) -> RateRules:
        """The rate limits of sources, agents and sign-ins."""
        return RateRules(
            source=RateRule(self.rate_source_per_second, self.rate_source_burst),
            agent=RateRule(self.rate_agent_per_second, self.rate_agent_burst),
            sign_in=RateRule(self.rate_sign_in_per_minute / 60.0, self.rate_sign_in_burst),
        )


def build_sign_in(
    settings: AuthSettings, routing: RoutingConfig, http: httpx.AsyncClient, clock: Clock = time.time
) -> SignIn:
    """Static tokens always; passwords when WR_AUTH_SECRET is set; OIDC when WR_OIDC_ISSUER is."""
    passwords = None
    if settings.auth_secret is not None:
        secret = settings.auth_secret.get_secret_value().encode()
        passwords = PasswordSignIn(routing.agent_passwords, secret, ttl_seconds=settings.auth_token_seconds)
    config = settings.oidc_config()
    oidc = OidcVerifier(config, JwksCache(config, http), clock) if config is not None else None
    return SignIn(routing, passwords=passwords, oidc=oidc)


def build_limits(settings: AuthSettings, client: redis.Redis | None, prefix: str) -> RateLimits:
    """Rate limits counted in Redis (shared by every api process) or, without Redis, in this process."""
    limiter: RateLimiter = RedisRateLimiter(client, prefix) if client is not None else MemoryRateLimiter()
    return RateLimits(settings.rate_rules(), limiter)
