"""The reporting API's errors as RFC 9457 problem documents: status, title, detail, and for refused
parameters `errors` naming each one ({loc: parameter, msg})."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from workrouter.adapters.postgres.reports.limits import ReportRefusedError
from workrouter.contracts.common import FieldError
from workrouter.domain.reporting.problems import ReportParameterError

TITLES = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    422: "unprocessable content",
    429: "too many requests",
    503: "unavailable",
}


class ReportProblem(BaseModel):
    """An error answer of the reports app (RFC 9457, sent as application/problem+json)."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(description="The HTTP status, repeated.")
    title: str = Field(description="A short name of the status, e.g. `bad request`.")
    detail: str = Field(description="What is wrong and what to do about it.")
    errors: list[FieldError] | None = Field(default=None, description="Each refused parameter and why.")
    limit: str | None = Field(default=None, description="On a 422: the limit the report would exceed.")


def problem(
    status: int,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {"status": status, "title": TITLES.get(status, "error"), "detail": detail, **extra}
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def parameter_problem(exc: ReportParameterError) -> JSONResponse:
    """400 naming every refused parameter."""
    return problem(400, str(exc), [FieldError(loc=p.parameter, msg=p.message) for p in exc.problems])


def refused_problem(exc: ReportRefusedError) -> JSONResponse:
    """422: a valid report over a limit (time, cost, rows); the detail says how to narrow it."""
    return problem(422, str(exc), limit=exc.limit)


def install_handlers(app: FastAPI) -> None:
    """Answer refused parameters and over-limit reports with problem documents, never a 5xx."""

    async def on_parameters(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ReportParameterError)
        return parameter_problem(exc)

    async def on_refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ReportRefusedError)
        return refused_problem(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [FieldError(loc=str(e["loc"][-1]) if e["loc"] else "request", msg=e["msg"]) for e in exc.errors()]
        return problem(400, "; ".join(f"{e.loc}: {e.msg}" for e in errors), errors)

    app.add_exception_handler(ReportParameterError, on_parameters)
    app.add_exception_handler(ReportRefusedError, on_refused)
    app.add_exception_handler(RequestValidationError, on_validation)
