"""Parsing JSON from outside strictly: only what JSON allows, and nothing a service cannot hold."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_NESTING = 32  # objects and arrays inside one another, in a whole request or message


class JsonRefusedError(ValueError):
    """The text is not JSON that workrouter takes; the message says why."""


def _no_constant(name: str) -> Any:
    raise JsonRefusedError(f"{name} is not JSON (use null or a finite number)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefusedError(f"number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def loads(raw: bytes | str, *, max_nesting: int | None = MAX_NESTING) -> Any:
    """Parse JSON; NaN, Infinity, overflowing numbers and nesting deeper than `max_nesting` (if set) are refused."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
        doc = _DECODER.decode(text)
    except JsonRefusedError:
        raise
    except UnicodeDecodeError as exc:
        raise JsonRefusedError(f"not UTF-8: {exc}") from None
    except RecursionError:
        raise JsonTooDeepError([], max_nesting or 0) from None
    except ValueError as exc:  # JSONDecodeError, and integers over Python's digit limit
        raise JsonRefusedError(str(exc)) from None
    if max_nesting is not None and (path := too_deep(doc, max_nesting)) is not None:
        raise JsonTooDeepError(path, max_nesting)
    return doc


class JsonTooDeepError(JsonRefusedError):
    """Valid JSON nested deeper than workrouter takes; `path` leads to the first place too deep."""

    def __init__(self, path: list[str], limit: int) -> None:
        self.path = path
        super().__init__(
            f"{'.'.join(path[:4]) or 'the body'}{'...' if len(path) > 4 else ''}: nested deeper than {limit} levels"
        )


def too_deep(doc: Any, limit: int) -> list[str] | None:
    """The path to the first object or array nested deeper than `limit` in `doc`, or None; walked without recursion."""
    stack: list[tuple[Any, int, list[str]]] = [(doc, 0, [])]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                return path
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((item, depth + 1, [*path, str(key)]) for key, item in items)
    return None
