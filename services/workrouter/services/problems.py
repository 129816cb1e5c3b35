"""Error answers of both apps as RFC 9457 problem documents (`application/problem+json`).

One shape for the api and the reports app: `type` (always `about:blank`: the status says what kind of
problem it is), `title` (the status's name), `status`, `detail` (what is wrong and what to do next), and
the extension members a client acts on: `errors` naming each refused field or parameter, `state` of a
task on a 404 or 409, `limit` of a report over one. FastAPI's own answers (an unknown path, a method
not allowed) take the same shape, so a client reads every error one way.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from workrouter.contracts.common import FieldError

MEDIA_TYPE = "application/problem+json"
TITLES = {422: "unprocessable content", 503: "unavailable"}  # RFC 9110's names where Python's are older


class Problem(BaseModel):
    """An error answer (RFC 9457, sent as application/problem+json)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["about:blank"] = Field(default="about:blank", description="Always `about:blank`: see `status`.")
    title: str = Field(description="The status's name, e.g. `bad request`.")
    status: int = Field(description="The HTTP status, repeated.")
    detail: str = Field(description="What is wrong and what to do about it.")
    errors: list[FieldError] | None = Field(default=None, description="Each refused field or parameter, and why.")
    state: str | None = Field(
        default=None, description="On a 404 or 409 about a task: the state it is in (waiting, parked, ...)."
    )
    limit: str | None = Field(default=None, description="On a 422 from a report: the limit it would exceed.")


def title(status: int) -> str:
    """The status's name, lower case."""
    if status in TITLES:
        return TITLES[status]
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def problem(
    status: int,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {"type": "about:blank", "title": title(status), "status": status, "detail": detail}
    body.update(extra)
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install_http_errors(app: FastAPI) -> None:
    """FastAPI's and Starlette's own errors (404 for an unknown path, 405, ...) as problem documents."""

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else title(exc.status_code)
        return problem(exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None)

    app.add_exception_handler(StarletteHTTPException, on_http)
