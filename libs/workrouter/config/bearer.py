"""Bearer tokens over HTTP: reading `Authorization: Bearer <token>` and checking it against a SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def token_matches(token: str | None, sha256: str) -> bool:
    """True when `token` hashes to `sha256` (constant-time compare)."""
    if token is None:
        return False
    return hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), sha256)


def metrics_allowed(authorization: str | None, token_sha256: str | None) -> bool:
    """Whether a scrape of /metrics may be answered: always without a configured token, else with it."""
    return token_sha256 is None or token_matches(bearer_token(authorization), token_sha256)


def is_loopback(host: str) -> bool:
    """True for an address (or name) only this machine reaches: 127.0.0.0/8, ::1, localhost."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
