"""HTTP error bodies: every 4xx names the field paths and what is wrong."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from workrouter.contracts.common import FieldError


def field_errors(exc: ValidationError, prefix: str = "body") -> list[FieldError]:
    """pydantic errors as FieldErrors with dotted paths under `prefix`."""
    return [FieldError(loc=".".join(str(p) for p in (prefix, *err["loc"])), msg=err["msg"]) for err in exc.errors()]


def problem(status: int, detail: str, errors: list[FieldError] | None = None, **extra: Any) -> JSONResponse:
    """A JSON error response: {detail, errors: [{loc, msg}]}."""
    body: dict[str, Any] = {"detail": detail, **extra}
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(status_code=status, content=body)


class HttpError(Exception):
    """Raised inside a route to answer with a problem response."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response
