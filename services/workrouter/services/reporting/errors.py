"""The reporting API's errors as RFC 9457 problem documents: status, title, detail, and for refused
parameters `errors` naming each one ({loc: parameter, msg})."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from workrouter.adapters.postgres.reports.limits import ReportRefusedError
from workrouter.contracts.common import FieldError
from workrouter.domain.reporting.problems import ReportParameterError
from workrouter.services.problems import install_http_errors, problem


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

    install_http_errors(app)
    app.add_exception_handler(ReportParameterError, on_parameters)
    app.add_exception_handler(ReportRefusedError, on_refused)
    app.add_exception_handler(RequestValidationError, on_validation)
