"""The browser UI under /ui/: its static files, sign-in and sign-out, and the agent desktop (decisions D28).

Pages are rendered on the server with Jinja2; htmx sends the forms and swaps the answers in, and the
desktop's live sections arrive over Server-Sent Events. Every POST passes the cross-site check first.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from workrouter.services.api.agent_context import AgentApi
from workrouter.services.api.errors import HttpError
from workrouter.services.api.ui import session
from workrouter.services.api.ui.desktop import desktop_routes
from workrouter.services.api.ui.forms import problem_detail, read_form
from workrouter.services.api.ui.render import HERE, page


def mount_ui(app: FastAPI, api: AgentApi) -> None:
    """Serve the UI's pages and static files from `app`."""
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(sign_in_routes(api))
    app.include_router(desktop_routes(api))


def sign_in_routes(api: AgentApi) -> APIRouter:
    """/ui/, /ui/sign-in and /ui/sign-out."""
    router = APIRouter(prefix="/ui", include_in_schema=False)

    @router.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/agent", status_code=303)

    @router.get("/sign-in")
    async def sign_in_page(request: Request) -> Response:
        if await session.caller_of(api, request) is not None:
            return RedirectResponse("/ui/agent", status_code=303)
        return page(request, "sign_in.html", _context(api))

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        if (refusal := session.cross_site(request)) is not None:
            return page(request, "sign_in.html", _context(api, error=refusal), 403)
        form = await read_form(request)
        token, max_age, error = await _credential(api, form)
        if token is None:
            return page(request, "sign_in.html", _context(api, error=error, agent_id=form.get("agent_id", "")), 401)
        response = RedirectResponse("/ui/agent", status_code=303)
        session.keep(response, request, token, max_age)
        return response

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        if (refusal := session.cross_site(request)) is not None:
            return HTMLResponse(refusal, status_code=403)
        response = RedirectResponse("/ui/sign-in", status_code=303)
        session.clear(response, request)
        return response

    return router


async def _credential(api: AgentApi, form: dict[str, str]) -> tuple[str | None, int | None, str | None]:
    """The token to keep for a sign-in form (an API token as given, or one issued for a password), how long the
    cookie lives (None: the browser session), or why the form is refused."""
    agent_id, password, token = form.get("agent_id", ""), form.get("password", ""), form.get("token", "").strip()
    try:
        if token:
            await api.authenticate(f"Bearer {token}")  # as every agent route checks it
            return token, None, None
        passwords = api.sign_in.passwords
        if not (agent_id and password):
            return None, None, "Enter your agent id and password, or an API token."
        if passwords is None:
            return None, None, "Password sign-in is off on this server (WR_AUTH_SECRET is not set): use an API token."
        await api.limits.check("sign_in", agent_id)  # as POST /v1/auth/token: a password guesser gets refused
        if not await passwords.check_password(agent_id, password):
            return None, None, "Wrong agent id or password."
        return passwords.issue(agent_id), passwords.ttl_seconds, None
    except HttpError as exc:
        return None, None, problem_detail(exc)


def _context(api: AgentApi, *, error: str | None = None, agent_id: str = "") -> dict[str, Any]:
    return {"error": error, "agent_id": agent_id, "passwords": api.sign_in.passwords is not None}
