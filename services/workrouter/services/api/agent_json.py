"""Reading an agent or supervisor request body: a JSON object the event log can store, or a 4xx naming the field.

`read_json` (shared with the source-system API) gives 413 for a body that is too large, 400 for one that
is not JSON (NaN, Infinity and numbers that overflow included) and 422 for one nested too deeply. On top
of that, an agent body is refused with a 422 naming the place when any string in it (a value or a field
name) holds NUL or a lone surrogate, or when it nests deeper than the bounds of contracts/bounds.py —
the same bounds the capture edge applies.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from workrouter.contracts.bounds import json_errors
from workrouter.contracts.common import FieldError
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.json_body import read_json


async def read_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; `{}` when empty and `optional`; a 4xx naming the field otherwise."""
    doc = await read_json(request, empty={} if optional else None)
    if not isinstance(doc, dict):
        raise HttpError(problem(422, "expected a JSON object", [FieldError(loc="body", msg="not an object")]))
    if errors := json_errors(doc):
        located = [FieldError(loc=f"body.{path}" if path else "body", msg=msg) for path, msg in errors]
        raise HttpError(problem(422, "invalid request", located))
    return doc
