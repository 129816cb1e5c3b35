"""Local users: a password for a short-lived access token, which then works on every agent route."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace

import jwt
import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from tests.support.agent_api import T0, Clock, Harness, harness, seed_routing
from workrouter import cli
from workrouter.config.catalog import Catalog
from workrouter.domain.rate_limit import RateRule
from workrouter.services.api.auth_settings import AuthSettings
from workrouter.services.api.passwords import PasswordSignIn
from workrouter.services.api.rate_limits import RateLimits, RateRules
from workrouter.services.api.sign_in import SignIn

SECRET = b"s" * 32
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the hash names its cost, so checks are fast too
PASSWORDS = {"emma": FAST.hash("correct horse"), "sam": FAST.hash("battery staple")}


def _sign_in(clock: Clock, passwords: dict[str, str] = PASSWORDS, secret: bytes = SECRET) -> SignIn:
    routing = replace(seed_routing(), agent_passwords=passwords)
    return SignIn(routing, passwords=PasswordSignIn(routing.agent_passwords, secret, clock=clock))


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    clock = Clock()
    limits = RateLimits(RateRules(sign_in=RateRule(per_second=0.1, burst=3)), clock=clock)
    async with harness(catalog, clock=clock, sign_in=_sign_in(clock), limits=limits) as built:
        yield built


async def _token(h: Harness, username: str, password: str) -> str:
    response = await h.client.post("/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    return str(body["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_password_buys_a_15_minute_token_for_every_agent_route(h: Harness) -> None:
    token = await _token(h, "emma", "correct horse")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "workrouter-local", "typ": "JWT"}
    response = await h.client.post("/v1/agent/presence", json={"presence": "ready"}, headers=_bearer(token))
    assert (response.status_code, response.json()["agent_id"]) == (200, "emma")
    h.clock.now = T0 + 900 + 4  # within 5 s of leeway
    assert (await h.client.get("/v1/agent/me", headers=_bearer(token))).status_code == 200
    h.clock.now = T0 + 900 + 5
    response = await h.client.get("/v1/agent/me", headers=_bearer(token))
    assert (response.status_code, response.json()["detail"]) == (401, "token expired: sign in again")
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_supervisor_is_one_as_agents_yaml_says(h: Harness) -> None:
    sam, emma = await _token(h, "sam", "battery staple"), await _token(h, "emma", "correct horse")
    body = {"agent_id": "farid"}
    assert (await h.client.post("/v1/supervisor/tasks/x/assign", json=body, headers=_bearer(sam))).status_code == 404
    assert (await h.client.post("/v1/supervisor/tasks/x/assign", json=body, headers=_bearer(emma))).status_code == 403


@pytest.mark.parametrize(
    ("username", "password"),
    [("emma", "wrong"), ("nobody", "correct horse"), ("farid", "correct horse"), ("Emma", "correct horse")],
)
async def test_a_wrong_name_or_password_gives_no_hint(h: Harness, username: str, password: str) -> None:
    response = await h.client.post("/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 401
    # the same answer whatever was wrong: no hint of which names exist
    assert response.json() == {
        "type": "about:blank",
        "title": "unauthorized",
        "status": 401,
        "detail": "wrong username or password",
    }


async def test_bodies_are_checked(h: Harness) -> None:
    response = await h.client.post("/v1/auth/token", json={"username": "emma"})
    assert (response.status_code, response.json()["errors"][0]["loc"]) == (422, "body.password")
    response = await h.client.post("/v1/auth/token", json={"username": "emma", "password": "x", "scope": "all"})
    assert (response.status_code, response.json()["errors"][0]["loc"]) == (422, "body.scope")


async def test_sign_in_attempts_are_rate_limited_per_name_even_with_the_right_password(h: Harness) -> None:
    for _ in range(3):  # the burst
        response = await h.client.post("/v1/auth/token", json={"username": "emma", "password": "guess"})
        assert response.status_code == 401
    response = await h.client.post("/v1/auth/token", json={"username": "emma", "password": "correct horse"})
    assert (response.status_code, response.headers["Retry-After"]) == (429, "10")
    assert "sign-in attempts for this name" in response.json()["detail"]
    assert (await h.client.post("/v1/auth/token", json={"username": "sam", "password": "x"})).status_code == 401
    h.clock.now += 10  # one attempt refilled (0.1/s)
    await _token(h, "emma", "correct horse")


async def test_a_token_is_refused_when_forged_or_the_password_changed(catalog: Catalog) -> None:
    clock = Clock()
    async with harness(catalog, clock=clock, sign_in=_sign_in(clock)) as h:
        token = await _token(h, "emma", "correct horse")
    changed = {**PASSWORDS, "emma": FAST.hash("new password")}
    async with harness(catalog, clock=clock, sign_in=_sign_in(clock, changed)) as h:
        response = await h.client.get("/v1/agent/me", headers=_bearer(token))
        assert (response.status_code, response.json()["detail"]) == (
            401,
            "token revoked (password changed or removed): sign in again",
        )
    async with harness(catalog, clock=clock, sign_in=_sign_in(clock, secret=b"t" * 32)) as h:
        response = await h.client.get("/v1/agent/me", headers=_bearer(token))
        assert (response.status_code, response.json()["detail"]) == (
            401,
            "invalid token: Signature verification failed",
        )


async def test_without_a_secret_there_is_no_token_route(catalog: Catalog) -> None:
    async with harness(catalog) as h:
        response = await h.client.post("/v1/auth/token", json={"username": "emma", "password": "correct horse"})
        assert response.status_code == 404
        response = await h.client.get("/v1/agent/me", headers=_bearer("a.b.c"))
        assert (response.status_code, response.json()["detail"]) == (401, "unknown agent token")


def test_settings_refuse_a_short_secret_and_an_issuer_without_audience() -> None:
    with pytest.raises(ValidationError, match="WR_AUTH_SECRET must be at least 32 bytes"):
        AuthSettings(auth_secret="short")
    with pytest.raises(ValidationError, match="WR_OIDC_ISSUER needs WR_OIDC_AUDIENCE"):
        AuthSettings(oidc_issuer="https://login.example")
    assert AuthSettings().rate_rules().sign_in == RateRule(0.1, 5)


def test_hash_password_prints_an_argon2id_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    with pytest.raises(SystemExit) as stop:
        cli.main(["hash-password"])
    assert stop.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(printed, "correct horse")
