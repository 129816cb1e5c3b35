"""POST /v1/auth/token: a local user's name and password for a short-lived access token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from workrouter.services.api.agent_bodies import Body
from workrouter.services.api.agent_context import AgentApi
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.passwords import PasswordSignIn
from workrouter.services.api.responses import documented, ok
from workrouter.services.openapi import ref, request_body

TOKEN_ANSWER = "A bearer access token: `access_token`, `token_type` (Bearer) and `expires_in` (seconds)."


class TokenBody(Body):
    """A sign-in: the agent id and its password."""

    username: str = Field(min_length=1, max_length=200, description="The agent id (agents.yaml).")
    password: str = Field(min_length=1, max_length=1024, description="The password hashed in password_argon2.")


def auth_routes(api: AgentApi, passwords: PasswordSignIn) -> APIRouter:
    """The `/v1/auth` routes of one app."""
    router = APIRouter(prefix="/v1/auth", tags=["auth"])

    @router.post(
        "/token",
        responses=documented(400, 401, 413, 422, s200=ok(TOKEN_ANSWER)),
        openapi_extra=request_body(ref(TokenBody)),
    )
    async def token(request: Request) -> dict[str, Any]:
        body = await api.body(request, TokenBody)
        await api.limits.check("sign_in", body.username)  # every attempt counts: a brute force gets 429s
        if not await passwords.check_password(body.username, body.password):
            response = problem(401, "wrong username or password")
            response.headers["WWW-Authenticate"] = "Bearer"
            raise HttpError(response)
        return {
            "access_token": passwords.issue(body.username),
            "token_type": "Bearer",
            "expires_in": passwords.ttl_seconds,
        }

    return router
