"""Local users: argon2id passwords from agents.yaml, exchanged for short-lived HMAC-signed (HS256) JWTs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

LOCAL_KID = "workrouter-local"
LOCAL_ISSUER = "workrouter"
LOCAL_AUDIENCE = "workrouter-api"
MIN_SECRET_BYTES = 32
_HASHER = PasswordHasher()  # argon2-cffi's defaults: argon2id, RFC 9106 low-memory profile (64 MiB, t=3, p=4)
# Verified for a name nobody has, so an unknown name costs as long as a wrong password (no name probing).
_DUMMY_HASH = _HASHER.hash("no agent has this password")


class TokenError(Exception):
    """A bearer token this api did not issue, or no longer accepts; the message says why."""


def hash_password(password: str) -> str:
    """The argon2id hash of a password, for `password_argon2` in agents.yaml."""
    return _HASHER.hash(password)


def _fingerprint(password_hash: str) -> str:
    """A short digest of the agent's password hash: a token carries it, so a new password revokes old tokens."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class PasswordSignIn:
    """Checks agents' passwords and issues and checks the api's own access tokens."""

    def __init__(
        self,
        passwords: Mapping[str, str],
        secret: bytes,
        *,
        ttl_seconds: int = 900,
        leeway_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
        self._passwords = dict(passwords)
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._leeway = leeway_seconds
        self._clock = clock

    async def check_password(self, username: str, password: str) -> bool:
        """True when the agent has this password; as slow for an unknown name (argon2 runs in a thread)."""
        stored = self._passwords.get(username)
        return await asyncio.to_thread(_verify, stored or _DUMMY_HASH, password) and stored is not None

    def issue(self, agent_id: str) -> str:
        """A signed access token for the agent, valid for `ttl_seconds`."""
        now = int(self._clock())
        claims = {
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE,
            "sub": agent_id,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "pwd": _fingerprint(self._passwords[agent_id]),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256", headers={"kid": LOCAL_KID})

    def agent_of(self, token: str) -> str:
        """The agent an access token was issued to; TokenError when forged, expired or revoked."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=LOCAL_AUDIENCE,
                issuer=LOCAL_ISSUER,
                leeway=self._leeway,
                # times are checked against our clock (check_times), not jwt's own
                options={
                    "require": ["exp", "sub", "pwd"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from None
        check_times(claims, self._clock(), self._leeway)
        agent_id = str(claims["sub"])
        stored = self._passwords.get(agent_id)
        if stored is None or not hmac.compare_digest(str(claims["pwd"]), _fingerprint(stored)):
            raise TokenError("token revoked (password changed or removed): sign in again")
        return agent_id


def check_times(claims: Mapping[str, object], now: float, leeway: float) -> None:
    """TokenError when `exp` has passed or `nbf` is still ahead, give or take `leeway` seconds."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise TokenError("invalid token: exp must be a number")
    if exp + leeway <= now:
        raise TokenError("token expired: sign in again")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf - leeway > now):
        raise TokenError("token not valid yet (nbf)")


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
