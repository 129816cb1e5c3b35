"""What the desktop's buttons do: each one is the agent API's own JSON route, called in-process with the
session's token, so the UI applies exactly the api's checks, refusals and messages (nothing re-implemented)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

from workrouter.services.api.ui.session import bearer

INTERNAL = "http://workrouter-ui.internal"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A JSON route's answer as the UI tells it: the status and, for a refusal, the problem's detail."""

    status: int
    detail: str | None

    @property
    def ok(self) -> bool:
        return self.status < 400


async def call_route(request: Request, path: str, body: dict[str, Any] | None = None) -> Outcome:
    """POST `body` to the api route `path` of this very app, as the signed-in agent."""
    headers = {"Authorization": bearer(request) or ""}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=INTERNAL) as client:
        answer = await client.post(path, json=body or {}, headers=headers)
    if answer.status_code < 400:
        return Outcome(answer.status_code, None)
    try:
        detail = str(answer.json().get("detail") or answer.reason_phrase)
    except ValueError:
        detail = answer.reason_phrase
    return Outcome(answer.status_code, detail)
