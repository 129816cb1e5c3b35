"""The UI's form bodies (urlencoded, read without a multipart parser) and problem details as text."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from fastapi import Request

from workrouter.services.api.errors import HttpError

MAX_FORM_BYTES = 8192


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form's fields (the first value of each); an oversized form counts as empty."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return {}
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


def problem_detail(exc: HttpError) -> str:
    """The detail of the problem document an HttpError answers with."""
    try:
        return str(json.loads(bytes(exc.response.body)).get("detail", "refused"))
    except ValueError:
        return "refused"
