"""Reading an agent or supervisor request body: a JSON object the event log can store, or a 4xx naming the field.

`read_json` (shared with the source-system API) gives 413 for a body that is too large and 400 for one that
is not JSON. On top of that, an agent body is refused with a 422 naming the place when it

- is nested so deeply that parsing it would overflow the stack, or is deeper than MAX_DEPTH levels
  (agent bodies are flat; a 2 KB body of `[[[...` used to be a 500 RecursionError);
- holds a number the parser cannot take (an integer of more than 4300 digits) or one that is not finite
  (`NaN`, `Infinity`, `1e400`: JSON has no such numbers, and the event log's JSONB refuses them);
- holds a string (a value or a field name) with NUL (U+0000), which PostgreSQL's text and JSONB cannot store,
  or with a lone surrogate (e.g. "\\ud800"), which is not Unicode and cannot be encoded as UTF-8.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request

from workrouter.contracts.common import FieldError
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.json_body import read_json

MAX_DEPTH = 32  # objects and arrays inside one another; agent bodies need 1
MAX_ERRORS = 20  # a hostile body does not get a hostile answer


async def read_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; `{}` when empty and `optional`; a 4xx naming the field otherwise."""
    try:
        doc = await read_json(request, empty={} if optional else None)
    except RecursionError:
        raise _refused("body", f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # not a JSONDecodeError (read_json answers those): e.g. an integer too long to read
        raise _refused("body", f"unreadable number: {exc}") from None
    if not isinstance(doc, dict):
        raise HttpError(problem(422, "expected a JSON object", [FieldError(loc="body", msg="not an object")]))
    errors = storable(doc)
    if errors:
        raise HttpError(problem(422, "invalid request", errors))
    return doc


def storable(doc: Any, loc: str = "body") -> list[FieldError]:
    """What in `doc` the event log could not store, by place (at most MAX_ERRORS, in document order)."""
    errors: list[FieldError] = []
    todo: list[tuple[Any, str, int]] = [(doc, loc, 0)]
    while todo and len(errors) < MAX_ERRORS:
        value, where, depth = todo.pop()
        if isinstance(value, str):
            if (msg := text_problem(value)) is not None:
                errors.append(FieldError(loc=where, msg=msg))
        elif isinstance(value, float):
            if not math.isfinite(value):
                errors.append(FieldError(loc=where, msg=f"{value} is not a JSON number; send a finite number"))
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                errors.append(FieldError(loc=where, msg=f"nested deeper than {MAX_DEPTH} levels"))
                continue
            children: list[tuple[Any, str, int]] = []
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (msg := text_problem(key)) is not None:
                    errors.append(FieldError(loc=where, msg=f"a field name {msg}"))
                    continue  # the name cannot be shown in a path
                children.append((item, f"{where}.{key}", depth + 1))
            todo.extend(reversed(children))
    return errors[:MAX_ERRORS]


def text_problem(text: str) -> str | None:
    """Why the string cannot be stored (NUL, a lone surrogate), or None when it can."""
    if "\x00" in text:
        return f"contains NUL (U+0000) at character {text.index(chr(0))}, which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return f"contains a lone surrogate (U+{code:04X}) at character {exc.start}: not valid Unicode"
    return None


def _refused(loc: str, msg: str) -> HttpError:
    return HttpError(problem(422, f"{loc}: {msg}", [FieldError(loc=loc, msg=msg)]))
