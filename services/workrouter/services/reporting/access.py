"""Who may read the reports: a supervisor (their agent token, agents.yaml) or the holder of the reports key.

`/healthz` stays open; every other route answers 401 without a credential and 403 to an agent who is not a
supervisor. (`/metrics` never reaches the app: the process's metrics endpoint answers it in front, with the
metrics token, runtime.serve.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import Response

from workrouter.config.bearer import bearer_token, token_matches
from workrouter.config.routing import RoutingConfig
from workrouter.services.problems import problem

OPEN_PATHS = frozenset({"/healthz"})
CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class ReportsAccess:
    """The credentials the reports accept."""

    routing: RoutingConfig | None = None  # its supervisors' tokens
    key_sha256: str | None = None  # WR_REPORTS_KEY_SHA256: for a BI tool or a script

    def refusal(self, path: str, authorization: str | None) -> Response | None:
        """The 401/403 answer for a request to `path`, or None when it may go on."""
        if path in OPEN_PATHS:
            return None
        token = bearer_token(authorization)
        if token is None:
            return problem(
                401,
                "the reports require Authorization: Bearer <a supervisor's token or the reports key>",
                headers=CHALLENGE,
            )
        if self.key_sha256 is not None and token_matches(token, self.key_sha256):
            return None
        agent = self.routing.agent_for_token(token) if self.routing is not None else None
        if agent is None:
            return problem(401, "unknown token: neither a supervisor's token nor the reports key", headers=CHALLENGE)
        if self.routing is not None and agent in self.routing.supervisors:
            return None
        return problem(403, f"agent {agent!r} is not a supervisor: the reports are for supervisors")


def guard(app: FastAPI, access: ReportsAccess) -> None:
    """Check every request to `app` against `access` before its route runs."""

    @app.middleware("http")
    async def check(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        refused = access.refusal(request.url.path, request.headers.get("authorization"))
        return refused if refused is not None else await call_next(request)
