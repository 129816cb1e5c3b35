"""Who a bearer token is: a static token of agents.yaml, the api's own access token, or an OIDC issuer's JWT."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from workrouter.config.routing import RoutingConfig
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.oidc import OidcVerifier
from workrouter.services.api.passwords import LOCAL_KID, PasswordSignIn, TokenError

_JWT_DOTS = 2


@dataclass(frozen=True, slots=True)
class Identity:
    """The agent a token names; `supervisor` None means as agents.yaml says (OIDC roles say it themselves)."""

    agent_id: str
    supervisor: bool | None = None


class SignIn:
    """Turns an Authorization header into an Identity: 401 when no valid token, 403 for a valid one of nobody here."""

    def __init__(
        self,
        routing: RoutingConfig,
        *,
        passwords: PasswordSignIn | None = None,
        oidc: OidcVerifier | None = None,
    ) -> None:
        self.routing = routing
        self.passwords = passwords
        self.oidc = oidc

    async def identify(self, authorization: str | None) -> Identity:
        """The identity behind `Authorization: Bearer <token>`."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("missing agent token: send it as Authorization: Bearer <token>")
        agent_id = self.routing.agent_for_token(token)
        if agent_id is not None:
            return Identity(agent_id)
        if token.count(".") != _JWT_DOTS or (self.passwords is None and self.oidc is None):
            raise _unauthorized("unknown agent token")
        try:
            if self.passwords is not None and _kid(token) == LOCAL_KID:
                return Identity(self.passwords.agent_of(token))
            if self.oidc is None:
                raise TokenError("invalid token: not one this api issued, and no OIDC issuer is configured")
            found = await self.oidc.identify(token)
        except TokenError as exc:
            raise _unauthorized(str(exc)) from None
        if found.agent_id not in self.routing.agents:
            raise HttpError(problem(403, f"{found.agent_id!r} is not an agent of this workrouter (agents.yaml)"))
        if not (found.agent or found.supervisor):
            roles = f"{self.oidc.config.agent_role!r} or {self.oidc.config.supervisor_role!r}"
            raise HttpError(problem(403, f"the token grants neither role {roles} ({self.oidc.config.roles_claim})"))
        return Identity(found.agent_id, supervisor=found.supervisor)


def _kid(token: str) -> object:
    try:
        return jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None


def _unauthorized(detail: str) -> HttpError:
    response = problem(401, detail)
    response.headers["WWW-Authenticate"] = "Bearer"
    return HttpError(response)
