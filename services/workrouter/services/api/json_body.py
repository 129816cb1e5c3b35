"""Reading a JSON request body: a size limit, and a clear 400 when it is not JSON."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

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
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(problem(400, f"body is not valid JSON: {exc}")) from None
