"""Reading a JSON request body: a size limit, and a clear 400 when it is not JSON workrouter takes."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from workrouter.contracts.common import FieldError
from workrouter.contracts.strict_json import JsonRefusedError, JsonTooDeepError, loads
from workrouter.services.api.errors import HttpError, problem

MAX_BODY_BYTES = 1_000_000


async def read_json(request: Request, *, empty: Any = None) -> Any:
    """The parsed body (`empty` when there is none and `empty` is given); 413 when too large, 400 when not JSON."""
    body = await request.body()
    if not body and empty is not None:
        return empty
    if len(body) > MAX_BODY_BYTES:
        raise HttpError(problem(413, f"body is {len(body)} bytes, over the {MAX_BODY_BYTES} byte limit"))
    try:
        return loads(body)
    except JsonTooDeepError as exc:
        loc = ".".join(["body", *exc.path[:2]])
        raise HttpError(problem(422, "nested too deeply", [FieldError(loc=loc, msg=str(exc))])) from None
    except JsonRefusedError as exc:
        raise HttpError(problem(400, f"body is not valid JSON: {exc}")) from None
