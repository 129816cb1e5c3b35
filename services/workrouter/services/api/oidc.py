"""OpenID Connect: JWT bearer tokens signed by a configured issuer, checked against its JWKS (fetched, cached)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from workrouter.services.api.passwords import TokenError, check_times

ALGORITHMS = ("RS256", "ES256")  # asymmetric only: never `none`, never HS* (a public key is no secret)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """Who issues agents' tokens, for whom, and where in a token the agent id and roles are."""

    issuer: str
    audience: str
    jwks_url: str | None = None  # None: from <issuer>/.well-known/openid-configuration
    agent_claim: str = "preferred_username"
    roles_claim: str = "roles"  # a dotted path, e.g. realm_access.roles (Keycloak)
    agent_role: str = "agent"
    supervisor_role: str = "supervisor"
    leeway_seconds: float = 30.0
    refetch_seconds: float = 30.0  # an unknown kid refetches the JWKS at most this often
    max_age_seconds: float = 3600.0  # the JWKS is refetched when older than this anyway


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """Who a valid token names and which of the two roles it grants."""

    agent_id: str
    agent: bool
    supervisor: bool


class JwksCache:
    """The issuer's signing keys by kid: fetched on first use, on an unknown kid (bounded), and when old."""

    def __init__(self, config: OidcConfig, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic):
        self._config = config
        self._http = http
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key with this kid (or the only key, for a token without kid), refetching when allowed."""
        if self._stale() or (self._find(kid) is None and self._may_refetch()):
            async with self._lock:
                if self._stale() or (self._find(kid) is None and self._may_refetch()):
                    await self._fetch()
        return self._find(kid)

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._config.max_age_seconds

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._config.refetch_seconds

    async def _fetch(self) -> None:
        self._fetched_at = self._clock()  # a failed fetch also waits refetch_seconds before the next try
        self.fetches += 1
        try:
            url = self._config.jwks_url or await self._discover()
            response = await self._http.get(url)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            log.warning("could not fetch the OIDC issuer's keys: %r", exc)
            return
        found: dict[str, jwt.PyJWK] = {}
        for doc in keys:
            try:
                key = jwt.PyJWK(doc)
            except jwt.PyJWKError as exc:
                log.info("skipping a JWKS key (kid %r): %s", doc.get("kid"), exc)
                continue
            if key.algorithm_name in ALGORITHMS and doc.get("use", "sig") == "sig":
                found[str(doc.get("kid", ""))] = key
        self._keys = found

    async def _discover(self) -> str:
        url = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = await self._http.get(url)
        response.raise_for_status()
        return str(response.json()["jwks_uri"])


class OidcVerifier:
    """Checks a JWT's signature, alg, iss, aud, exp and nbf; reads the agent id and roles."""

    def __init__(self, config: OidcConfig, keys: JwksCache, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._keys = keys
        self._clock = clock

    async def identify(self, token: str) -> OidcIdentity:
        """The identity a valid token names; TokenError saying what is wrong otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenError(f"invalid token: alg {alg!r} is not accepted; one of {', '.join(ALGORITHMS)}")
        key = await self._keys.key(header.get("kid"))
        if key is None or key.algorithm_name != alg:
            raise TokenError(f"invalid token: no signing key {header.get('kid')!r} for {alg} at the issuer")
        claims = self._decode(token, key, alg)
        check_times(claims, self._clock(), self.config.leeway_seconds)
        agent_id = claims.get(self.config.agent_claim)
        if not isinstance(agent_id, str) or not agent_id:
            raise TokenError(f"invalid token: no {self.config.agent_claim} claim naming the agent")
        roles = _roles(claims, self.config.roles_claim)
        return OidcIdentity(agent_id, self.config.agent_role in roles, self.config.supervisor_role in roles)

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={
                    "require": ["exp", "iss", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from None


def _roles(claims: dict[str, Any], path: str) -> set[str]:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return set(value.split())
    return {r for r in value if isinstance(r, str)} if isinstance(value, list) else set()
