"""Callback signatures: what a source system checks before it believes a callback."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workrouter.domain.notify.signing import sign, signature_problem, verify_signature

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
