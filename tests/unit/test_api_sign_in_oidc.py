"""OpenID Connect sign-in: JWTs of a local issuer (keys made here) on the agent routes, and everything refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.agent_api import T0, Clock, Harness, auth, harness, seed_routing
from tests.support.oidc_issuer import AUDIENCE, ISSUER, LocalIssuer, rsa_key
from workrouter.config.catalog import Catalog
from workrouter.services.api.oidc import JwksCache, OidcConfig, OidcVerifier
from workrouter.services.api.sign_in import SignIn

AGENT: dict[str, Any] = {"preferred_username": "emma", "roles": ["agent"]}


class Monotonic:
    """The JWKS cache's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    h: Harness
    issuer: LocalIssuer
    cache: JwksCache
    monotonic: Monotonic

    async def me(self, token: str) -> tuple[int, dict[str, Any]]:
        response = await self.h.client.get("/v1/agent/me", headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.json()


async def _world(catalog: Catalog, config: OidcConfig) -> AsyncIterator[World]:
    issuer, clock, monotonic = LocalIssuer(), Clock(), Monotonic()
    async with issuer.client() as http:
        cache = JwksCache(config, http, clock=monotonic)
        sign_in = SignIn(seed_routing(), oidc=OidcVerifier(config, cache, clock=clock))
        async with harness(catalog, clock=clock, sign_in=sign_in) as h:
            yield World(h, issuer, cache, monotonic)


@pytest.fixture
async def w(catalog: Catalog) -> AsyncIterator[World]:
    async for world in _world(catalog, OidcConfig(issuer=ISSUER, audience=AUDIENCE)):
        yield world


def _b64(doc: dict[str, Any] | bytes) -> str:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_a_valid_token_of_either_key_type_names_the_agent(w: World) -> None:
    for key in w.issuer.keys:  # RS256 and ES256
        status, body = await w.me(w.issuer.token(T0, key=key, **AGENT))
        assert (status, body["agent_id"]) == (200, "emma")
    assert w.issuer.requests == [
        "/realms/acme/.well-known/openid-configuration",
        "/realms/acme/protocol/openid-connect/certs",
    ]


async def test_static_tokens_still_work_beside_oidc(w: World) -> None:
    response = await w.h.client.get("/v1/agent/me", headers=auth("farid"))
    assert (response.status_code, response.json()["agent_id"]) == (200, "farid")


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"exp": int(T0) - 31}, "token expired"),  # beyond the 30 s leeway
        ({"nbf": int(T0) + 31}, "not valid yet"),
        ({"aud": "another-api"}, "Audience doesn't match"),
        ({"iss": "https://evil.example"}, "Invalid issuer"),
        ({"exp": None}, 'Token is missing the "exp" claim'),
        ({"preferred_username": None}, "no preferred_username claim"),
    ],
)
async def test_refused_claims(w: World, claims: dict[str, Any], detail: str) -> None:
    status, body = await w.me(w.issuer.token(T0, **{**AGENT, **claims}))
    assert status == 401
    assert detail in body["detail"]


async def test_within_the_leeway_a_token_still_counts(w: World) -> None:
    status, _ = await w.me(w.issuer.token(T0, **AGENT, exp=int(T0) - 20, nbf=int(T0) + 20))
    assert status == 200


async def test_a_bad_signature_is_refused(w: World) -> None:
    forger = rsa_key("rsa-1")  # same kid, another key
    status, body = await w.me(w.issuer.token(T0, key=forger, **AGENT))
    assert (status, body["detail"]) == (401, "invalid token: Signature verification failed")
    header, _, signature = w.issuer.token(T0, **AGENT).split(".")
    forged = {**AGENT, "preferred_username": "sam", "iss": ISSUER, "aud": AUDIENCE, "exp": int(T0) + 60}
    tampered = f"{header}.{_b64(forged)}.{signature}"
    assert (await w.me(tampered))[0] == 401


async def test_alg_none_and_hmac_with_the_public_key_are_refused(w: World) -> None:
    claims = {**AGENT, "iss": ISSUER, "aud": AUDIENCE, "exp": int(T0) + 60}
    unsigned = f"{_b64({'alg': 'none', 'kid': 'rsa-1'})}.{_b64(claims)}."
    status, body = await w.me(unsigned)
    assert (status, body["detail"]) == (401, "invalid token: alg 'none' is not accepted; one of RS256, ES256")
    public_pem = (
        w.issuer.keys[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = f"{_b64({'alg': 'HS256', 'kid': 'rsa-1'})}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    status, body = await w.me(f"{signing_input}.{_b64(mac)}")
    assert (status, body["detail"]) == (401, "invalid token: alg 'HS256' is not accepted; one of RS256, ES256")


async def test_an_unknown_kid_refetches_the_keys_once_then_rotation_is_picked_up(w: World) -> None:
    assert (await w.me(w.issuer.token(T0, **AGENT)))[0] == 200
    assert w.issuer.jwks_fetches() == 1
    rotated = rsa_key("rsa-2")
    w.issuer.keys = [rotated]  # the issuer rotates: the old key is gone
    status, _ = await w.me(w.issuer.token(T0, key=rotated, **AGENT))
    assert (status, w.issuer.jwks_fetches()) == (401, 1)  # too soon after the last fetch: bounded
    w.monotonic.now += 30
    assert (await w.me(w.issuer.token(T0, key=rotated, **AGENT)))[0] == 200
    assert w.issuer.jwks_fetches() == 2
    for _ in range(5):  # made-up kids do not hammer the issuer
        assert (await w.me(w.issuer.token(T0, key=rsa_key("made-up"), **AGENT)))[0] == 401
    assert w.issuer.jwks_fetches() == 2
    assert (await w.me(w.issuer.token(T0, key=rotated, **AGENT)))[0] == 200


async def test_roles_decide_agent_or_supervisor(w: World) -> None:
    async def assign(roles: list[str], who: str = "sam") -> tuple[int, str]:
        token = w.issuer.token(T0, preferred_username=who, roles=roles)
        response = await w.h.client.post(
            "/v1/supervisor/tasks/nope/assign", json={"agent_id": "farid"}, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.json()["detail"]

    assert await assign(["agent"]) == (403, "sam is not a supervisor; this needs a supervisor's token")
    assert (await assign(["agent", "supervisor"]))[0] == 404  # past the door: the task is unknown
    assert (await assign(["supervisor"], who="emma"))[0] == 404  # the issuer's roles decide, not agents.yaml
    assert await assign(["viewer"]) == (403, "the token grants neither role 'agent' or 'supervisor' (roles)")
    assert await assign(["agent"], who="mallory") == (403, "'mallory' is not an agent of this workrouter (agents.yaml)")


async def test_claims_are_configurable_keycloak_style(catalog: Catalog) -> None:
    config = OidcConfig(issuer=ISSUER, audience=AUDIENCE, agent_claim="sub", roles_claim="realm_access.roles")
    async for w in _world(catalog, config):
        token = w.issuer.token(T0, sub="sam", realm_access={"roles": ["offline_access", "supervisor"]})
        response = await w.h.client.get("/v1/tasks/nope/explain", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404
        assert (await w.me(w.issuer.token(T0, sub="emma", roles=["agent"])))[0] == 403  # roles are elsewhere here


async def test_the_jwks_url_can_be_given_without_discovery(catalog: Catalog) -> None:
    config = OidcConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=f"{ISSUER}/protocol/openid-connect/certs")
    async for w in _world(catalog, config):
        assert (await w.me(w.issuer.token(T0, **AGENT)))[0] == 200
        assert w.issuer.requests == ["/realms/acme/protocol/openid-connect/certs"]
