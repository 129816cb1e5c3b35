"""A local OpenID Connect issuer for tests: keys made in the test, discovery and JWKS over an httpx MockTransport."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

ISSUER = "https://login.example/realms/acme"
AUDIENCE = "workrouter-api"


@dataclass
class SigningKey:
    """A private key, its kid and its JWS algorithm."""

    kid: str
    alg: str
    private: PrivateKeyTypes

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, as an issuer publishes it."""
        algorithm = jwt.get_algorithm_by_name(self.alg)
        doc: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**doc, "kid": self.kid, "use": "sig"}


def rsa_key(kid: str) -> SigningKey:
    """A fresh RS256 key."""
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> SigningKey:
    """A fresh ES256 key."""
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class LocalIssuer:
    """Publishes its keys at /.well-known/openid-configuration and /jwks; signs tokens with any of them."""

    keys: list[SigningKey] = field(default_factory=lambda: [rsa_key("rsa-1"), ec_key("ec-1")])
    requests: list[str] = field(default_factory=list)

    def client(self) -> httpx.AsyncClient:
        """An httpx client whose requests this issuer answers."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self._answer))

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if str(request.url) == f"{ISSUER}/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs"})
        if str(request.url) == f"{ISSUER}/protocol/openid-connect/certs":
            return httpx.Response(200, json={"keys": [k.public_jwk() for k in self.keys]})
        return httpx.Response(404)

    def jwks_fetches(self) -> int:
        """How often the JWKS was fetched."""
        return sum(path.endswith("/certs") for path in self.requests)

    def token(
        self, now: float, *, key: SigningKey | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """A token signed with `key` (the first key by default), valid for 5 minutes from `now` unless told."""
        key = key or self.keys[0]
        body = {"iss": ISSUER, "aud": AUDIENCE, "iat": int(now), "exp": int(now) + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})})  # type: ignore[arg-type]
