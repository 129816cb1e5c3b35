"""Callback signatures: what a source system checks before it believes a callback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from workrouter.domain.notify.signing import (
    new_callback_secret,
    sign,
    signature_problem,
    signing_key,
    standard_headers,
    verify_signature,
)

SECRET = "crm-demo-callback-secret"
BODY = b'{"event":"completed","id":"e1"}'
NOW = 1_790_000_000


def test_the_header_is_the_timestamp_and_the_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_a_fresh_signature_of_the_same_body_verifies() -> None:
    header = sign(SECRET, BODY, NOW)
    assert verify_signature(SECRET, BODY, header, now=NOW + 30)
    assert signature_problem(SECRET, BODY, header, now=NOW + 30) is None


def test_a_tampered_body_fails() -> None:
    header = sign(SECRET, BODY, NOW)
    tampered = BODY.replace(b"completed", b"cancelled")
    assert not verify_signature(SECRET, tampered, header, now=NOW)
    assert "does not match" in (signature_problem(SECRET, tampered, header, now=NOW) or "")


def test_the_wrong_secret_fails() -> None:
    header = sign("someone-elses-secret", BODY, NOW)
    assert not verify_signature(SECRET, BODY, header, now=NOW)


@pytest.mark.parametrize("skew", [-301, 301, 3600, -86400])
def test_a_stale_or_future_timestamp_fails_even_with_a_valid_mac(skew: int) -> None:
    header = sign(SECRET, BODY, NOW)
    problem = signature_problem(SECRET, BODY, header, now=NOW + skew, tolerance_s=300)
    assert problem is not None
    assert "outside the 300 s tolerance" in problem


def test_a_replayed_request_fails_once_the_tolerance_has_passed() -> None:
    header = sign(SECRET, BODY, NOW)
    assert verify_signature(SECRET, BODY, header, now=NOW + 299, tolerance_s=300)
    assert not verify_signature(SECRET, BODY, header, now=NOW + 301, tolerance_s=300)


def test_the_timestamp_cannot_be_moved_without_breaking_the_mac() -> None:
    mac = sign(SECRET, BODY, NOW).split("v1=")[1]
    assert not verify_signature(SECRET, BODY, f"t={NOW + 1000},v1={mac}", now=NOW + 1000)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (None, "no Workrouter-Signature header"),
        ("", "no Workrouter-Signature header"),
        ("v1=abc", "malformed"),
        (f"t={NOW}", "malformed"),
        ("t=yesterday,v1=abc", "not a whole number"),
    ],
)
def test_a_missing_or_malformed_header_fails_with_a_reason(header: str | None, says: str) -> None:
    assert says in (signature_problem(SECRET, BODY, header, now=NOW) or "")


def test_one_valid_entry_among_several_is_enough_for_rotating_secrets() -> None:
    good = sign(SECRET, BODY, NOW).split("v1=")[1]
    assert verify_signature(SECRET, BODY, f"t={NOW},v1={'0' * 64},v1={good}", now=NOW)


def test_signing_without_a_secret_says_where_to_set_it() -> None:
    with pytest.raises(ValueError, match=r"callback_secret_env or callback_secret_file in sources\.yaml"):
        sign("", BODY, NOW)


@given(body=st.binary(min_size=1, max_size=200), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_changed_byte_breaks_the_signature(body: bytes, position: int, flip: int) -> None:
    header = sign(SECRET, body, NOW)
    assert verify_signature(SECRET, body, header, now=NOW)
    i = position % len(body)
    changed = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    assert not verify_signature(SECRET, changed, header, now=NOW)


# Standard Webhooks: checked with the `standardwebhooks` package, as a source system would


def _verify(secret: str | bytes, body: bytes, headers: dict[str, str]) -> None:
    Webhook(secret).verify(body, headers, json_parse=False)


@settings(max_examples=60)
@given(
    key=st.binary(min_size=24, max_size=64),
    msg_id=st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=","), min_size=1, max_size=60),
    body=st.binary(max_size=300),
)
def test_a_whsec_secret_signs_what_the_standardwebhooks_package_verifies(key: bytes, msg_id: str, body: bytes) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    headers = standard_headers(secret, msg_id, body, int(time.time()))
    _verify(secret, body, headers)
    assert headers["webhook-id"] == msg_id


def test_an_older_raw_secret_verifies_with_its_bytes() -> None:
    headers = standard_headers(SECRET, "e1", BODY, int(time.time()))
    _verify(SECRET.encode(), BODY, headers)


@pytest.mark.parametrize("change", ["body", "id", "secret", "stale"])  # stale: signed 10 minutes ago
def test_the_standardwebhooks_package_refuses_what_we_did_not_sign_just_now(change: str) -> None:
    secret = new_callback_secret()
    stamp = int(time.time()) - (600 if change == "stale" else 0)
    headers = standard_headers(secret, "e1", BODY, stamp)
    body = BODY + b" " if change == "body" else BODY
    if change == "id":
        headers["webhook-id"] = "e2"
    verifier = new_callback_secret() if change == "secret" else secret
    with pytest.raises(WebhookVerificationError):
        _verify(verifier, body, headers)


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("whsec_not*base64", "base64"),
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "24 to 64 bytes, not 16"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "24 to 64 bytes, not 65"),
    ],
)
def test_a_malformed_whsec_secret_is_refused_with_the_reason(secret: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        signing_key(secret)


def test_fresh_callback_secrets_are_distinct_whsec_secrets_of_32_bytes() -> None:
    first, second = new_callback_secret(), new_callback_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(signing_key(first)) == 32
