"""The UI's templates and the headers every page carries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")  # autoescaping on, as for every .html template
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    # a screen pop must not tell the work item's site where it came from; "no-referrer" would also blank the
    # Origin of our own form posts ("null"), which the cross-site check then refuses
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: str | None) -> str:
    """An RFC 3339 time of the api as people read it: `2026-12-08 14:05:09 UTC` (the text, if not a time)."""
    if not value:
        return "\u2013"  # an en dash, as the templates show an empty cell
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return value


TEMPLATES.env.filters["when"] = when


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """The template `name` rendered for `request`, with the security headers."""
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def fragment(name: str, context: dict[str, Any]) -> str:
    """The template `name` rendered as text (a live section sent over SSE)."""
    return TEMPLATES.get_template(name).render(context)
