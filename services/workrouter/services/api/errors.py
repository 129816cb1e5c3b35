"""HTTP error bodies: every 4xx names the field paths and what is wrong."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from workrouter.contracts.common import FieldError
from workrouter.services.problems import problem

__all__ = ["HttpError", "field_errors", "problem"]


def field_errors(exc: ValidationError, prefix: str = "body") -> list[FieldError]:
    """pydantic errors as FieldErrors with dotted paths under `prefix`."""
    return [FieldError(loc=".".join(str(p) for p in (prefix, *err["loc"])), msg=err["msg"]) for err in exc.errors()]


class HttpError(Exception):
    """Raised inside a route to answer with a problem response."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response
