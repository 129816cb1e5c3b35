"""Signing callbacks, and checking a signature as a source system does (pure; the time is a parameter).

Callbacks are signed per Standard Webhooks (https://www.standardwebhooks.com), so a source checks them
with a published verifier in its own language (`standardwebhooks` for Python, and others):

    webhook-id:        the callback's id (= Idempotency-Key), the same on every retry
    webhook-timestamp: unix seconds of this attempt
    webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>." + body)>

The key is the secret's bytes: for a `whsec_<base64>` secret (what `workrouter credentials` issues) the
decoded bytes, as every Standard Webhooks library reads it; for an older secret without the prefix its
UTF-8 bytes (a source passes those bytes to its verifier, docs/callbacks.md).

The timestamp is signed with the body, so a captured request cannot be replayed after the tolerance, and
a receiver that also remembers the id it has acted on cannot be made to act twice.

Until the release after 0.1, the older header is sent alongside, for sources that verify it still:
`Workrouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (`sign`,
`verify_signature`). More than one `v1=` may be sent; one valid entry is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Workrouter-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "Workrouter-Event"
ATTEMPT_HEADER = "Workrouter-Attempt"
DEFAULT_TOLERANCE_SECONDS = 300
SCHEME = "v1"
WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
SECRET_PREFIX = "whsec_"
KEY_BYTES = (24, 64)  # Standard Webhooks: a key of 24 to 64 random bytes


def signing_key(secret: str) -> bytes:
    """The HMAC key of a callback secret: a `whsec_` secret's decoded bytes, else the secret's UTF-8 bytes.

    Raises ValueError for a `whsec_` secret that is not base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"a {SECRET_PREFIX} secret must be base64 after the prefix") from None
    low, high = KEY_BYTES
    if not low <= len(key) <= high:
        raise ValueError(f"a {SECRET_PREFIX} secret must decode to {low} to {high} bytes, not {len(key)}")
    return key


def new_callback_secret() -> str:
    """A fresh `whsec_` secret of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>." + body)>`."""
    mac = hmac.new(signing_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return f"{SCHEME},{base64.b64encode(mac).decode()}"


def standard_headers(secret: str, msg_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        WEBHOOK_ID: msg_id,
        WEBHOOK_TIMESTAMP: str(timestamp),
        WEBHOOK_SIGNATURE: standard_signature(secret, msg_id, timestamp, body),
    }


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
