"""Signing callbacks, and checking a signature as a source system does (pure; the time is a parameter).

Header `Workrouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`. The
timestamp is signed with the body, so a captured request cannot be replayed after the tolerance, and
a receiver that also remembers the `Idempotency-Key` it has acted on cannot be made to act twice.
More than one `v1=` may be sent (reserved for rotating a secret); one valid entry is enough.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Workrouter-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "Workrouter-Event"
ATTEMPT_HEADER = "Workrouter-Attempt"
DEFAULT_TOLERANCE_SECONDS = 300
SCHEME = "v1"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    if not secret:
        raise ValueError(
            "cannot sign a callback without a secret: name one with callback_secret_env or callback_secret_file "
            "in sources.yaml"
        )
    return f"t={timestamp},{SCHEME}={_mac(secret, timestamp, body)}"


def signature_problem(
    secret: str, body: bytes, header: str | None, now: float, tolerance_s: float = DEFAULT_TOLERANCE_SECONDS
) -> str | None:
    """Why the signature header does not prove `body` came from us just now, or None when it does."""
    if not header:
        return f"no {SIGNATURE_HEADER} header"
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return f"timestamp {value!r} is not a whole number of unix seconds"
        elif name == SCHEME:
            macs.append(value)
    if timestamp is None or not macs:
        return f"malformed {SIGNATURE_HEADER} header: expected t=<unix seconds>,{SCHEME}=<hex>"
    if abs(now - timestamp) > tolerance_s:
        return f"timestamp {timestamp} is {now - timestamp:+.0f} s from now, outside the {tolerance_s:.0f} s tolerance"
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        return "signature does not match the body (wrong secret, or the body was changed)"
    return None


def verify_signature(
    secret: str, body: bytes, header: str | None, now: float, tolerance_s: float = DEFAULT_TOLERANCE_SECONDS
) -> bool:
    """True when `header` is our signature of exactly `body`, made within `tolerance_s` of `now` (unix seconds)."""
    return signature_problem(secret, body, header, now, tolerance_s) is None
